// Package enhanceclient reaches the enhance service for the search domain
// (search.Enhancer): embeddings for semantic ranking, categories, query
// rewrites and suggestions. A call that fails is reported as an error the
// domain turns into a skipped enhancement: an unreachable service wraps
// search.ErrEnhanceUnavailable, a call out of time
// context.DeadlineExceeded. Categories are answered in-process while the
// enhance service has no provider (see New).
package enhanceclient

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/pkg/localai"
	"github.com/altus4/altus/services/search/internal/search"
)

// Client implements search.Enhancer over EnhanceService.
type Client struct {
	c enhancev1.EnhanceServiceClient
}

// New returns a Client over an enhance service connection.
//
// Categorize is answered in-process while the enhance service has no
// provider (localai.Client): the service would answer it with the same
// local method, and the call's network hop is a large part of what
// categories cost a search, on its critical path, for an answer computed
// here in a fraction of it. A not_configured answer is trusted for
// localai.DefaultLocalWindow (10 s), after which the service is asked
// again, so that a provider configured since, or a replica with one, is
// used within that time. The answer's origin is the service's (fallback,
// not_configured), and so is the search's enhancement metric's source.
func New(c enhancev1.EnhanceServiceClient) *Client {
	return &Client{c: localai.NewClient(c, localai.ClientOptions{})}
}

// callError classifies a failed call.
func callError(what string, err error) error {
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return fmt.Errorf("enhance: %s: %w: %w", what, context.DeadlineExceeded, err)
	case codes.Canceled:
		return fmt.Errorf("enhance: %s: %w: %w", what, context.Canceled, err)
	case codes.Unavailable, codes.Unimplemented:
		return fmt.Errorf("enhance: %s: %w: %w", what, search.ErrEnhanceUnavailable, err)
	}
	return fmt.Errorf("enhance: %s: %w", what, err)
}

func originOf(o *enhancev1.Origin) search.Origin {
	return search.Origin{Source: o.GetSource(), Reason: o.GetReason(), Model: o.GetModel()}
}

// Embed returns one vector per text, in order.
func (c *Client) Embed(ctx context.Context, texts []string) (search.Embedding, error) {
	resp, err := c.c.Embed(ctx, &enhancev1.EmbedRequest{Texts: texts})
	if err != nil {
		return search.Embedding{}, callError("embed", err)
	}
	out := search.Embedding{Origin: originOf(resp.GetOrigin()), Vectors: make([][]float32, len(resp.GetEmbeddings()))}
	for i, e := range resp.GetEmbeddings() {
		out.Vectors[i] = e.GetValues()
	}
	return out, nil
}

// Categorize assigns categories to documents.
func (c *Client) Categorize(ctx context.Context, query string, docs []search.Document) (search.Categorization, error) {
	req := &enhancev1.CategorizeRequest{Query: query, Documents: make([]*enhancev1.Document, len(docs))}
	for i, d := range docs {
		pd := &enhancev1.Document{Id: d.ID, Database: d.Database, Table: d.Table}
		for _, f := range d.Fields {
			pd.Fields = append(pd.Fields, &enhancev1.Field{Name: f.Name, Text: f.Text})
		}
		req.Documents[i] = pd
	}
	resp, err := c.c.Categorize(ctx, req)
	if err != nil {
		return search.Categorization{}, callError("categorize", err)
	}
	out := search.Categorization{Origin: originOf(resp.GetOrigin()), Documents: map[string][]search.DocumentCategory{}}
	for _, d := range resp.GetDocuments() {
		for _, c := range d.GetCategories() {
			out.Documents[d.GetId()] = append(out.Documents[d.GetId()], search.DocumentCategory{Name: c.GetName(), Confidence: c.GetConfidence()})
		}
	}
	for _, c := range resp.GetCategories() {
		out.Categories = append(out.Categories, search.Category{Name: c.GetName(), Count: int(c.GetCount()), Confidence: c.GetConfidence()})
	}
	return out, nil
}

// OptimizeQuery proposes rewrites, synonyms and variants of a query.
func (c *Client) OptimizeQuery(ctx context.Context, query string, context []string) (search.QueryRewrite, error) {
	resp, err := c.c.OptimizeQuery(ctx, &enhancev1.OptimizeQueryRequest{Query: query, Context: context})
	if err != nil {
		return search.QueryRewrite{}, callError("optimize query", err)
	}
	return search.QueryRewrite{
		Rewrites: resp.GetRewrites(), Synonyms: resp.GetSynonyms(), Intent: resp.GetIntent(),
		Variants: resp.GetVariants(), Origin: originOf(resp.GetOrigin()),
	}, nil
}

// Suggest proposes queries to try instead of one that found nothing.
func (c *Client) Suggest(ctx context.Context, query string, vocabulary map[string]int, limit int) (search.Suggestions, error) {
	req := &enhancev1.SuggestRequest{Query: query, Limit: int32(limit)}
	terms := make([]string, 0, len(vocabulary))
	for term := range vocabulary {
		terms = append(terms, term)
	}
	slices.Sort(terms)
	for _, term := range terms {
		req.Vocabulary = append(req.Vocabulary, &enhancev1.TermCount{Term: term, Count: int64(vocabulary[term])})
	}
	resp, err := c.c.Suggest(ctx, req)
	if err != nil {
		return search.Suggestions{}, callError("suggest", err)
	}
	out := search.Suggestions{Origin: originOf(resp.GetOrigin())}
	for _, s := range resp.GetSuggestions() {
		out.Suggestions = append(out.Suggestions, search.Suggestion{Text: s.GetText(), Score: s.GetScore(), Type: s.GetType()})
	}
	return out, nil
}
