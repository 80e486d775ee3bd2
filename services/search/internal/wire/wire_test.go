package wire_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"google.golang.org/protobuf/proto"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/restjson"
	"github.com/altus4/altus/services/search/internal/search"
	"github.com/altus4/altus/services/search/internal/wire"
)

// The fields of data come back in name order (a Struct is a map).
func TestCodecRoundTripsAPage(t *testing.T) {
	in := &search.Response{
		Results: []search.Result{{
			ID: "s1:t:1", Table: "t", Database: "s1", RelevanceScore: 0.75, MatchedColumns: []string{"body"},
			Data:    []search.Field{{Name: "big", Value: "18446744073709551615"}, {Name: "body", Value: "text"}, {Name: "id", Value: int64(1)}, {Name: "note", Value: nil}},
			Snippet: "…text…", Categories: []string{"databases"}, Highlights: []search.Highlight{{Column: "body", Fragments: []string{"<mark>text</mark>"}}},
		}},
		Categories: []search.Category{{Name: "databases", Count: 1, Confidence: 0.75}},
		Enhancements: []search.Enhancement{
			{Capability: search.CapabilityCategories, Source: search.EnhancedByProvider, Elapsed: 2500 * time.Microsecond},
			{Capability: search.CapabilitySemantic, Source: search.EnhancedByFallback, Reason: "circuit_open", Elapsed: time.Millisecond},
		},
		Suggestions:       []search.Suggestion{{Text: "texts", Score: 0.5, Type: search.SuggestSpelling}},
		QueryOptimization: []search.Optimization{{Type: "query", Description: "d", Impact: "medium"}},
		TotalCount:        42, TotalEstimated: true, ExecutionTime: 12 * time.Millisecond, Page: 3, Limit: 20,
		Sources: []search.SourceStatus{{ID: "s1", Name: "kb", Status: search.StatusOK, RowCount: 42, Elapsed: 1500 * time.Microsecond},
			{ID: "s2", Name: "down", Status: search.StatusFailed, ErrorCode: "DATABASE_CONNECTION_FAILED", Message: "refused"}},
		Mode: search.ModeBoolean, Notices: []search.Notice{{Code: search.NoticeTermsIgnored, Message: "m", Terms: []string{"the"}}},
	}
	b, err := wire.Codec{}.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := wire.Codec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := wire.Codec{}.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Rendered) != string(rendered) {
		t.Errorf("the stored rendering differs from the page's:\n%s\n%s", out.Rendered, rendered)
	}
	if out.NumResults() != 1 || out.TotalCount != 42 || out.Mode != search.ModeBoolean || len(out.Sources) != 2 || len(out.Enhancements) != 2 {
		t.Errorf("decoded summary: %+v", out)
	}
	out.Cached, out.ExecutionTime = true, 3*time.Millisecond
	out.Trends = []search.Trend{{Period: "2026-03-11", TopQueries: []string{"pools"}, Volume: 2, AvgResponseTime: 5 * time.Millisecond}}
	// What the receiver reads.
	sent, err := proto.Marshal(wire.CachedToProto(out))
	if err != nil {
		t.Fatal(err)
	}
	m := &searchv1.SearchResponse{}
	if err := proto.Unmarshal(sent, m); err != nil {
		t.Fatal(err)
	}
	if !m.GetCached() || m.GetExecutionTime() != 3 || len(m.GetTrends()) != 1 || m.GetTrends()[0].GetQueryVolume() != 2 {
		t.Fatalf("message of the cached page: %v", m)
	}
	in.Cached, in.ExecutionTime, in.Trends = true, 3*time.Millisecond, out.Trends
	if diff := cmp.Diff(in, wire.ResponseFromProto(m), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("(-in +out):\n%s", diff)
	}
	if wire.CachedToProto(in) != nil {
		t.Error("a page that did not come from the cache has a cached message")
	}
	for _, garbage := range [][]byte{{0xff, 0xff}, {0x05, 0x01}, {0x00, '{'}} {
		if _, err := (wire.Codec{}).Decode(garbage); err == nil {
			t.Errorf("garbage %x decoded", garbage)
		}
	}
}

// The edge passes a rendered page through with "cached" and
// "executionTime" put first (as the gateway's marshaler does): the JSON
// must be the one the typed message renders to.
func TestRenderedPagesEqualTheTypedRendering(t *testing.T) {
	trends := []search.Trend{{Period: "2026-03-11", TopQueries: []string{"pools"}, Volume: 2, AvgResponseTime: 5 * time.Millisecond}}
	tests := []struct {
		name   string
		page   *search.Response
		trends []search.Trend
	}{
		{"a page of results", page(), nil},
		{"with trends", page(), trends},
		{"an empty page with notices", &search.Response{Page: 1, Limit: 20, Mode: "natural",
			Notices: []search.Notice{{Code: search.NoticeNoDatabases, Message: "add one"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rendered, err := wire.Codec{}.Render(tt.page)
			if err != nil {
				t.Fatal(err)
			}
			// Stored and read back, as a cache hit serves it.
			value, err := wire.Codec{}.Encode(tt.page)
			if err != nil {
				t.Fatal(err)
			}
			hit, err := wire.Codec{}.Decode(value)
			if err != nil {
				t.Fatal(err)
			}
			for name, r := range map[string][]byte{"fresh": rendered, "cached": hit.Rendered} {
				if tt.trends != nil {
					if r, err = wire.RenderedWithTrends(r, tt.trends); err != nil {
						t.Fatal(err)
					}
				}
				// The per-request members go in front, as the gateway writes them.
				fast := restjson.Prepend(r, `"cached":true,"executionTime":7,"searchId":"0f8fad5b-d9cb-469f-a165-70867728950e"`)
				typed := *tt.page
				typed.Cached, typed.ExecutionTime, typed.Trends = true, 7*time.Millisecond, tt.trends
				typed.SearchID = "0f8fad5b-d9cb-469f-a165-70867728950e"
				slow, err := restjson.Render(wire.ResponseToProto(&typed))
				if err != nil {
					t.Fatal(err)
				}
				var a, b map[string]any
				if err := json.Unmarshal(fast, &a); err != nil {
					t.Fatalf("%s: not JSON: %v\n%s", name, err, fast)
				}
				if err := json.Unmarshal(slow, &b); err != nil {
					t.Fatal(err)
				}
				delete(b, "renderedJson") // internal, never on the REST page
				if _, ok := a["renderedJson"]; ok {
					t.Fatalf("%s: the rendered page holds renderedJson", name)
				}
				if diff := cmp.Diff(b, a); diff != "" {
					t.Errorf("%s: the pre-rendered page differs from the typed rendering (-typed +pre-rendered):\n%s", name, diff)
				}
			}
		})
	}
}
