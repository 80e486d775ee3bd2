// Package grpcapi adapts the enhancement domain to the generated
// altus.enhance.v1.EnhanceService: it converts messages and maps domain
// errors (only invalid requests: the provider never fails a call) to
// status codes in one table.
package grpcapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/localai"
	"github.com/altus4/altus/services/enhance/internal/enhance"
)

// errorTable is the one mapping of domain errors to codes and reasons:
// validation errors become INVALID_ARGUMENT with field details in
// grpcx.Map; nothing else is expected.
var errorTable = []grpcx.Mapping{}

func mapErr(err error) error { return grpcx.Map(err, errorTable) }

// Server implements enhancev1.EnhanceServiceServer.
type Server struct {
	enhancev1.UnimplementedEnhanceServiceServer
	svc *enhance.Service
}

// New returns the adapter over the domain.
func New(svc *enhance.Service) *Server { return &Server{svc: svc} }

func origin(o enhance.Origin) *enhancev1.Origin {
	return &enhancev1.Origin{Source: o.Source, Reason: o.Reason, Model: o.Model, ElapsedMs: float64(o.Elapsed) / float64(time.Millisecond)}
}

// OptimizeQuery proposes rewrites, synonyms, variants and the intent of a query.
func (s *Server) OptimizeQuery(ctx context.Context, req *enhancev1.OptimizeQueryRequest) (*enhancev1.OptimizeQueryResponse, error) {
	r, err := s.svc.OptimizeQuery(ctx, enhance.OptimizeRequest{Query: req.GetQuery(), Context: req.GetContext(), MaxRewrites: int(req.GetMaxRewrites())})
	if err != nil {
		return nil, mapErr(err)
	}
	return &enhancev1.OptimizeQueryResponse{Rewrites: r.Rewrites, Synonyms: r.Synonyms, Intent: r.Intent, Variants: r.Variants, Origin: origin(r.Origin)}, nil
}

// Categorize assigns categories to documents and aggregates them. The
// request is read and the response written as the search service's
// in-process answers are (localai).
func (s *Server) Categorize(ctx context.Context, req *enhancev1.CategorizeRequest) (*enhancev1.CategorizeResponse, error) {
	r, err := s.svc.Categorize(ctx, localai.CategorizeRequestFromProto(req))
	if err != nil {
		return nil, mapErr(err)
	}
	return localai.CategorizeResponseProto(r.Documents, r.Categories, origin(r.Origin)), nil
}

// Summarize gives a short summary of each document.
func (s *Server) Summarize(ctx context.Context, req *enhancev1.SummarizeRequest) (*enhancev1.SummarizeResponse, error) {
	r, err := s.svc.Summarize(ctx, enhance.SummarizeRequest{Documents: localai.DocumentsFromProto(req.GetDocuments()), Query: req.GetQuery(), MaxChars: int(req.GetMaxChars())})
	if err != nil {
		return nil, mapErr(err)
	}
	resp := &enhancev1.SummarizeResponse{Origin: origin(r.Origin)}
	for _, sum := range r.Summaries {
		resp.Summaries = append(resp.Summaries, &enhancev1.Summary{Id: sum.ID, Text: sum.Text})
	}
	return resp, nil
}

// Suggest proposes spelling corrections and related queries.
func (s *Server) Suggest(ctx context.Context, req *enhancev1.SuggestRequest) (*enhancev1.SuggestResponse, error) {
	vocab := make([]enhance.TermCount, len(req.GetVocabulary()))
	for i, tc := range req.GetVocabulary() {
		vocab[i] = enhance.TermCount{Term: tc.GetTerm(), Count: tc.GetCount()}
	}
	r, err := s.svc.Suggest(ctx, enhance.SuggestRequest{Query: req.GetQuery(), Vocabulary: vocab, Limit: int(req.GetLimit())})
	if err != nil {
		return nil, mapErr(err)
	}
	resp := &enhancev1.SuggestResponse{Origin: origin(r.Origin)}
	for _, sg := range r.Suggestions {
		resp.Suggestions = append(resp.Suggestions, &enhancev1.Suggestion{Text: sg.Text, Score: sg.Score, Type: sg.Type})
	}
	return resp, nil
}

// Embed turns texts into vectors of one model.
func (s *Server) Embed(ctx context.Context, req *enhancev1.EmbedRequest) (*enhancev1.EmbedResponse, error) {
	r, err := s.svc.Embed(ctx, enhance.EmbedRequest{Texts: req.GetTexts()})
	if err != nil {
		return nil, mapErr(err)
	}
	resp := &enhancev1.EmbedResponse{Origin: origin(r.Origin), Cached: int32(r.Cached)}
	for _, v := range r.Vectors {
		resp.Embeddings = append(resp.Embeddings, &enhancev1.Embedding{Values: v})
	}
	return resp, nil
}

// GenerateInsights turns search analytics into insights.
func (s *Server) GenerateInsights(ctx context.Context, req *enhancev1.GenerateInsightsRequest) (*enhancev1.GenerateInsightsResponse, error) {
	in := enhance.InsightsRequest{
		Period: req.GetPeriod(), TotalSearches: req.GetTotalSearches(), PreviousTotalSearches: req.GetPreviousTotalSearches(),
		AvgTimeMs: req.GetAvgTimeMs(), ZeroResultSearches: req.GetZeroResultSearches(), CacheHitRatio: req.GetCacheHitRatio(),
		ClickThroughRate: req.GetClickThroughRate(),
	}
	for _, q := range req.GetQueries() {
		in.Queries = append(in.Queries, enhance.QueryStat{Query: q.GetQuery(), Count: q.GetCount(), PreviousCount: q.GetPreviousCount(),
			AvgTimeMs: q.GetAvgTimeMs(), AvgResults: q.GetAvgResults(), ZeroResultCount: q.GetZeroResultCount()})
	}
	for _, src := range req.GetSources() {
		in.Sources = append(in.Sources, enhance.SourceStat{ID: src.GetId(), Name: src.GetName(), Searches: src.GetSearches(),
			AvgTimeMs: src.GetAvgTimeMs(), P95TimeMs: src.GetP95TimeMs(), Failures: src.GetFailures()})
	}
	r, err := s.svc.GenerateInsights(ctx, in)
	if err != nil {
		return nil, mapErr(err)
	}
	resp := &enhancev1.GenerateInsightsResponse{Origin: origin(r.Origin)}
	for _, ins := range r.Insights {
		data, err := structpb.NewStruct(ins.Data)
		if err != nil {
			return nil, err
		}
		resp.Insights = append(resp.Insights, &enhancev1.Insight{Type: ins.Type, Confidence: ins.Confidence, Description: ins.Description, Actionable: ins.Actionable, Data: data})
	}
	return resp, nil
}
