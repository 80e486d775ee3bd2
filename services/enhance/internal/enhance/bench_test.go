package enhance_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/altus4/altus/services/enhance/internal/enhance"
	"github.com/altus4/altus/services/enhance/internal/openaiclient"
	"github.com/altus4/altus/services/enhance/internal/providertest"
)

// benchDocs are 20 documents of about 600 characters each.
func benchDocs() []enhance.Document {
	words := strings.Fields("redis mysql cluster replica driver client search index fulltext query cache latency shard pipeline schema table column engine stemming vector")
	out := make([]enhance.Document, 20)
	for i := range out {
		var b strings.Builder
		for j := range 80 {
			b.WriteString(words[(i*7+j*3)%len(words)])
			if j%10 == 9 {
				b.WriteString(". ")
			} else {
				b.WriteByte(' ')
			}
		}
		out[i] = enhance.Document{ID: fmt.Sprint(i), Table: "packages", Fields: []enhance.Field{{Name: "name", Text: words[i%len(words)]}, {Name: "description", Text: b.String()}}}
	}
	return out
}

func benchVocabulary() []enhance.TermCount {
	var v []enhance.TermCount
	for i, w := range strings.Fields("redis mysql cluster replica driver client search index fulltext query cache latency shard pipeline schema table column engine stemming vector python golang javascript postgres mariadb") {
		for k := range 40 {
			v = append(v, enhance.TermCount{Term: fmt.Sprintf("%s%d", w, k), Count: int64(i + k)})
		}
		v = append(v, enhance.TermCount{Term: w, Count: int64(100 - i)})
	}
	return v
}

func BenchmarkFallbackOptimizeQuery(b *testing.B) {
	svc := enhance.New(enhance.Options{})
	for b.Loop() {
		if _, err := svc.OptimizeQuery(context.Background(), enhance.OptimizeRequest{Query: "how to configure the redis clusters for faster queries"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFallbackCategorize(b *testing.B) {
	svc := enhance.New(enhance.Options{})
	docs := benchDocs()
	for b.Loop() {
		if _, err := svc.Categorize(context.Background(), enhance.CategorizeRequest{Documents: docs, Query: "redis"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFallbackSummarize(b *testing.B) {
	svc := enhance.New(enhance.Options{})
	docs := benchDocs()
	for b.Loop() {
		if _, err := svc.Summarize(context.Background(), enhance.SummarizeRequest{Documents: docs, Query: "cluster latency"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFallbackSuggest(b *testing.B) {
	svc := enhance.New(enhance.Options{})
	vocab := benchVocabulary()
	for b.Loop() {
		if _, err := svc.Suggest(context.Background(), enhance.SuggestRequest{Query: "reids clustr", Vocabulary: vocab}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFallbackEmbed(b *testing.B) {
	svc := enhance.New(enhance.Options{})
	texts := make([]string, 32)
	for i, d := range benchDocs()[:16] {
		texts[2*i], texts[2*i+1] = d.Fields[0].Text, d.Fields[1].Text
	}
	for b.Loop() {
		if _, err := svc.Embed(context.Background(), enhance.EmbedRequest{Texts: texts}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFallbackGenerateInsights(b *testing.B) {
	svc := enhance.New(enhance.Options{})
	for b.Loop() {
		if _, err := svc.GenerateInsights(context.Background(), insightsReq); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProviderPath is one OptimizeQuery through every protection, the
// official client and HTTP to a local fake provider (no model latency):
// the overhead the service adds to a provider call.
func BenchmarkProviderPath(b *testing.B) {
	srv := providertest.New(b)
	svc := enhance.New(enhance.Options{
		Provider:  openaiclient.New(openaiclient.Options{APIKey: "sk-test", BaseURL: srv.BaseURL(), Model: "gpt-test", EmbeddingModel: "embed-test"}),
		RateLimit: 1_000_000_000,
	})
	for b.Loop() {
		r, err := svc.OptimizeQuery(context.Background(), enhance.OptimizeRequest{Query: "redis cluster"})
		if err != nil || r.Origin.Source != enhance.SourceProvider {
			b.Fatalf("%+v %v", r, err)
		}
	}
}
