package localai

import (
	"testing"

	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
)

// corpusProto is packageCorpus as a Categorize request.
func corpusProto(query string) *enhancev1.CategorizeRequest {
	req := &enhancev1.CategorizeRequest{Query: query}
	for _, d := range packageCorpus() {
		pd := &enhancev1.Document{Id: d.ID, Database: d.Database, Table: d.Table}
		for _, f := range d.Fields {
			pd.Fields = append(pd.Fields, &enhancev1.Field{Name: f.Name, Text: f.Text})
		}
		req.Documents = append(req.Documents, pd)
	}
	return req
}

// BenchmarkAnswerLocally is a Client's in-process answer to a page of 20
// package results: reading, checking, categorizing and writing.
func BenchmarkAnswerLocally(b *testing.B) {
	req := corpusProto("redis client")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := answerLocally(req); !ok {
			b.Fatal("refused")
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	r := CategorizeRequest{Documents: packageCorpus(), Query: "redis client"}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
