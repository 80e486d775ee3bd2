package wire_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/services/search/internal/search"
	"github.com/altus4/altus/services/search/internal/wire"
)

// page is a typical page: 20 results of three columns of text.
func page() *search.Response {
	r := &search.Response{TotalCount: 1234, Page: 1, Limit: 20, Mode: "natural",
		Sources: []search.SourceStatus{{ID: "0b7e3c1e-2f4e-4d55-9a43-1c6f5f0d2b11", Name: "kb", Status: "ok", RowCount: 1234}}}
	text := strings.Repeat("connection pools keep warm connections ", 12)
	for i := range 20 {
		r.Results = append(r.Results, search.Result{
			ID: fmt.Sprintf("0b7e3c1e-2f4e-4d55-9a43-1c6f5f0d2b11:posts:%d", i), Table: "posts", Database: "0b7e3c1e-2f4e-4d55-9a43-1c6f5f0d2b11",
			RelevanceScore: 1 / float64(i+1), MatchedColumns: []string{"subject", "content"},
			Data:    []search.Field{{Name: "id", Value: int64(i)}, {Name: "subject", Value: "Connection pools"}, {Name: "content", Value: text}},
			Snippet: text[:200], Categories: []string{},
			Highlights: []search.Highlight{{Column: "content", Fragments: []string{"<mark>connection</mark> pools", "warm <mark>connections</mark>"}}},
		})
	}
	return r
}

// BenchmarkCacheHitDecode measures what a cache hit costs the search
// service besides the calls: the stored page (message and rendering) read
// by the codec and marshalled to be sent, against decoding and
// re-encoding the message.
func BenchmarkCacheHitDecode(b *testing.B) {
	enc, err := wire.Codec{}.Encode(page())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("codec", func(b *testing.B) {
		for b.Loop() {
			r, err := wire.Codec{}.Decode(enc)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := proto.Marshal(wire.CachedToProto(r)); err != nil {
				b.Fatal(err)
			}
		}
	})
	msg, err := proto.Marshal(wire.ResponseToProto(page()))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode-encode", func(b *testing.B) {
		for b.Loop() {
			var m searchv1.SearchResponse
			if err := proto.Unmarshal(msg, &m); err != nil {
				b.Fatal(err)
			}
			if _, err := proto.Marshal(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(len(enc)), "bytes")
}

// BenchmarkRender measures what pre-rendering a fresh page for the REST
// edge costs the search service (the gateway then passes it through):
// Codec.Render against the typed rendering it replaces.
func BenchmarkRender(b *testing.B) {
	p := page()
	for _, bm := range []struct {
		name   string
		render func(*search.Response) ([]byte, error)
	}{{"direct", wire.Codec{}.Render}, {"protojson", wire.RenderViaProto}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.render(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRenderedWithTrends measures what adding the caller's trends to
// a rendered page costs (a search with includeAnalytics).
func BenchmarkRenderedWithTrends(b *testing.B) {
	rendered, err := wire.Codec{}.Render(page())
	if err != nil {
		b.Fatal(err)
	}
	var trends []search.Trend
	for i := range 7 {
		trends = append(trends, search.Trend{Period: fmt.Sprintf("2026-03-%02d", i+1), TopQueries: []string{"connection pools", "replication lag", "fulltext"},
			Volume: 40 + i, AvgResponseTime: time.Duration(i+1) * 1500 * time.Microsecond})
	}
	for _, bm := range []struct {
		name string
		with func([]byte, []search.Trend) ([]byte, error)
	}{{"direct", wire.RenderedWithTrends}, {"protojson", wire.RenderedWithTrendsViaProto}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.with(rendered, trends); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFreshTypedPage measures what a fresh page costs the search
// service to answer a typed (gRPC) caller and store: encoded once
// (Codec.Message, shared by the answer and the cache value) against the
// answer and the cache value encoded each on their own.
func BenchmarkFreshTypedPage(b *testing.B) {
	c := wire.Codec{}
	b.Run("once", func(b *testing.B) {
		for b.Loop() {
			r := page()
			m, err := c.Message(r)
			if err != nil {
				b.Fatal(err)
			}
			r.Message, r.ResultCount = m, len(r.Results)
			if _, err := proto.Marshal(wire.CachedToProto(r)); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Encode(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("twice", func(b *testing.B) {
		for b.Loop() {
			r := page()
			if _, err := proto.Marshal(wire.ResponseToProto(r)); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Encode(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
