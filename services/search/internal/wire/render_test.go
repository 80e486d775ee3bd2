package wire_test

import (
	"bytes"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/altus4/altus/services/search/internal/search"
	"github.com/altus4/altus/services/search/internal/wire"
)

// sameRendering fails t unless Codec.Render renders r to the bytes of the
// typed rendering, or both fail; then, for a page with trends, the same of
// RenderedWithTrends on that rendering.
func sameRendering(t *testing.T, r *search.Response) {
	t.Helper()
	want, wantErr := wire.RenderViaProto(r)
	got, err := wire.Codec{}.Render(r)
	switch {
	case wantErr != nil && err == nil:
		t.Fatalf("the typed rendering fails (%v), Render gives\n%s", wantErr, got)
	case wantErr == nil && err != nil:
		t.Fatalf("Render fails (%v), the typed rendering gives\n%s", err, want)
	case err != nil:
		return
	case !bytes.Equal(got, want):
		t.Fatalf("Render differs from the typed rendering at byte %d:\n got %s\nwant %s", firstDiff(got, want), got, want)
	}
	if r.Trends == nil {
		return
	}
	want, wantErr = wire.RenderedWithTrendsViaProto(want, r.Trends)
	got, err = wire.RenderedWithTrends(got, r.Trends)
	switch {
	case (wantErr == nil) != (err == nil):
		t.Fatalf("RenderedWithTrends: error %v, the typed rendering's %v", err, wantErr)
	case err == nil && !bytes.Equal(got, want):
		t.Fatalf("RenderedWithTrends differs from the typed rendering at byte %d:\n got %s\nwant %s", firstDiff(got, want), got, want)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// result is a result of one data field.
func result(name string, value any) search.Result {
	return search.Result{ID: "s:t:1", Table: "t", Database: "s", Data: []search.Field{{Name: name, Value: value}}}
}

// pageCase is a page to render, named.
type pageCase struct {
	name string
	page *search.Response
}

type stringer struct{}

func (stringer) String() string { return "<a stringer & more>" }

func TestRenderEqualsTheTypedRenderingByteForByte(t *testing.T) {
	strs := map[string]string{
		"empty":         "",
		"unicode":       "héllo wörld 日本語 🎉 e\u0301",
		"replacement":   "\uFFFD as itself",
		"separators":    "line\u2028para\u2029end",
		"html":          `<mark>a</mark> & <script>alert("x")</script> &amp; >`,
		"controls":      "\x00\x01\x07\b\t\n\v\f\r\x0e\x1b\x1f\x7f end",
		"quotes":        `"quoted" \back\slash\ \\ \"`,
		"json-looking":  `{"cached":true,"trends":[]}`,
		"noncharacters": "\uFFFE\uFFFF\U0010FFFF",
	}
	invalid := map[string]string{
		"a lone high byte":          "ab\xffcd",
		"a truncated sequence":      "caf\xc3",
		"an overlong encoding":      "\xc0\xaf",
		"a surrogate half":          "\xed\xa0\x80",
		"a continuation byte alone": "\x80",
	}
	floats := []float64{0, math.Copysign(0, -1), 0.1, 0.2 + 0.1, 1.0 / 3, -2.5, 1e20, 1e21, 123456789012345678901234.0,
		1e-6, 1e-7, 9.99e-7, 1.5e-300, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, math.MaxFloat64,
		-math.MaxFloat64, 1 << 53, 1<<53 + 2, 12345.678e10, 100, 1e100, -1e-100}
	ints := []int64{0, 1, -1, math.MaxInt32, math.MaxInt32 + 1, math.MinInt32, math.MinInt32 - 1, 1 << 53, 1<<53 + 1,
		math.MaxInt64, math.MinInt64}

	tests := []pageCase{
		{"an empty page", &search.Response{}},
		{"empty, not nil, lists", &search.Response{Results: []search.Result{}, Categories: []search.Category{}, Suggestions: []search.Suggestion{},
			Trends: []search.Trend{}, QueryOptimization: []search.Optimization{}, Sources: []search.SourceStatus{}, Notices: []search.Notice{},
			Enhancements: []search.Enhancement{}}},
		{"zero-valued members of every list", &search.Response{Results: []search.Result{{}}, Categories: []search.Category{{}},
			Suggestions: []search.Suggestion{{}}, Trends: []search.Trend{{}}, QueryOptimization: []search.Optimization{{}},
			Sources: []search.SourceStatus{{}}, Notices: []search.Notice{{}}, Enhancements: []search.Enhancement{{}}}},
		{"a result's empty, not nil, lists", &search.Response{Results: []search.Result{{MatchedColumns: []string{}, Data: []search.Field{},
			Categories: []string{}, Highlights: []search.Highlight{{Fragments: []string{}}}, TruncatedColumns: []string{}}},
			Notices: []search.Notice{{Terms: []string{}}}, Trends: []search.Trend{{TopQueries: []string{}}}}},
		{"the per-request members and trends", &search.Response{Cached: true, ExecutionTime: 3 * time.Second, SearchID: "id",
			Trends:  []search.Trend{{Period: "2026-03-11", TopQueries: []string{"a", "b"}, Volume: 3, AvgResponseTime: 1500 * time.Microsecond}},
			Message: "opaque", ResultCount: 7, Rendered: []byte("{}")}},
		{"a typical page", page()},
		{"data of every kind of value", &search.Response{Results: []search.Result{{Data: []search.Field{
			{Name: "null", Value: nil}, {Name: "true", Value: true}, {Name: "false", Value: false}, {Name: "int", Value: int64(-42)},
			{Name: "float", Value: 2.5}, {Name: "text", Value: "t"}, {Name: "list", Value: []any{1, "a", nil, []any{true}}},
			{Name: "object", Value: map[string]any{"b": 1, "a": map[string]any{"c": nil}}}, {Name: "go int", Value: 7},
			{Name: "float32", Value: float32(0.1)}, {Name: "uint64", Value: uint64(math.MaxUint64)}, {Name: "bytes", Value: []byte("hi")},
			{Name: "stringer", Value: stringer{}}, {Name: "nil pointer", Value: (*int)(nil)}, {Name: "duration", Value: time.Second},
		}}}}},
		{"data names out of order, repeated and odd", &search.Response{Results: []search.Result{{Data: []search.Field{
			{Name: "b", Value: "1"}, {Name: "a", Value: "2"}, {Name: "B", Value: "3"}, {Name: "", Value: "4"}, {Name: "é", Value: "5"},
			{Name: "a", Value: "6"}, {Name: "a b", Value: "7"}, {Name: "z", Value: math.NaN()}, {Name: "z", Value: "NaN overwritten"},
			{Name: "<&>", Value: "8"}, {Name: "\n", Value: "9"}, {Name: "日本", Value: "10"}, {Name: "aa", Value: nil}, {Name: "b", Value: int64(1)},
		}}}}},
		{"a NaN in data", &search.Response{Results: []search.Result{result("x", math.NaN())}}},
		{"an infinity in data", &search.Response{Results: []search.Result{result("x", math.Inf(1))}}},
		{"a negative infinity in data", &search.Response{Results: []search.Result{result("x", math.Inf(-1))}}},
		{"NaN and infinities in double fields", &search.Response{
			Results:     []search.Result{{RelevanceScore: math.NaN()}, {RelevanceScore: math.Inf(1)}, {RelevanceScore: math.Inf(-1)}},
			Categories:  []search.Category{{Confidence: math.NaN()}},
			Suggestions: []search.Suggestion{{Score: math.Inf(-1)}},
		}},
		{"counts beyond int32", &search.Response{TotalCount: math.MaxInt64, Page: math.MinInt64, Limit: -1,
			Sources:    []search.SourceStatus{{RowCount: 1 << 40}, {RowCount: -(1 << 40)}},
			Categories: []search.Category{{Count: math.MaxInt32 + 1}}, Trends: []search.Trend{{Volume: math.MinInt32 - 1}}}},
		{"durations long, short and negative", &search.Response{
			Sources: []search.SourceStatus{{Elapsed: math.MaxInt64}, {Elapsed: math.MinInt64}, {Elapsed: time.Microsecond}, {Elapsed: 999 * time.Nanosecond},
				{Elapsed: -1500 * time.Microsecond}, {Elapsed: 100 * time.Millisecond}},
			Enhancements: []search.Enhancement{{Elapsed: 123456789 * time.Microsecond}, {Elapsed: -time.Microsecond}},
			Trends:       []search.Trend{{AvgResponseTime: math.MaxInt64}, {AvgResponseTime: 7 * time.Microsecond}}}},
	}
	for _, f := range floats {
		tests = append(tests, pageCase{"the float " + strconv.FormatFloat(f, 'g', -1, 64), &search.Response{
			Results:      []search.Result{{RelevanceScore: f, Data: []search.Field{{Name: "f", Value: f}, {Name: "neg", Value: -f}}}},
			Categories:   []search.Category{{Confidence: f}},
			Suggestions:  []search.Suggestion{{Score: -f}},
			Sources:      []search.SourceStatus{{Elapsed: time.Duration(f)}},
			Enhancements: []search.Enhancement{{Elapsed: time.Duration(-f)}},
		}})
	}
	for _, n := range ints {
		tests = append(tests, pageCase{"the integer " + strconv.FormatInt(n, 10), &search.Response{
			Results:    []search.Result{{Data: []search.Field{{Name: "n", Value: n}}}},
			TotalCount: int(n), Page: int(n), Limit: int(-n),
			Categories: []search.Category{{Count: int(n)}},
			Sources:    []search.SourceStatus{{RowCount: int(n), Elapsed: time.Duration(n)}},
		}})
	}
	for name, s := range strs {
		tests = append(tests, pageCase{"strings " + name, everyString(s)})
	}
	for name, s := range invalid {
		tests = append(tests, pageCase{"invalid UTF-8 everywhere: " + name, everyString(s)})
		tests = append(tests, pageCase{"invalid UTF-8 in a data name: " + name, &search.Response{Results: []search.Result{result(s, "v")}}})
		tests = append(tests, pageCase{"invalid UTF-8 in a notice's terms: " + name, &search.Response{Notices: []search.Notice{{Terms: []string{"ok", s}}}}})
		tests = append(tests, pageCase{"invalid UTF-8 in a trend: " + name, &search.Response{Trends: []search.Trend{{Period: s}}}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameRendering(t, tt.page)
		})
	}
}

func TestRenderFailsOnStringsThatAreNotUTF8(t *testing.T) {
	for _, r := range []*search.Response{
		{Mode: "\xff"},
		{Results: []search.Result{result("ok", "caf\xc3")}},
		{Results: []search.Result{result("\xc3", "ok")}},
		{Results: []search.Result{{Highlights: []search.Highlight{{Fragments: []string{"\x80"}}}}}},
	} {
		if b, err := (wire.Codec{}).Render(r); err == nil {
			t.Errorf("rendered %s", b)
		}
	}
	if b, err := wire.RenderedWithTrends([]byte(`{"trends":[]}`), []search.Trend{{TopQueries: []string{"\xff"}}}); err == nil {
		t.Errorf("rendered %s", b)
	}
}

// everyString is a page whose every string is s.
func everyString(s string) *search.Response {
	return &search.Response{
		Results: []search.Result{{ID: s, Table: s, Database: s, MatchedColumns: []string{s, s}, Data: []search.Field{{Name: s, Value: s}, {Name: "k", Value: s}},
			Snippet: s, Categories: []string{s}, Highlights: []search.Highlight{{Column: s, Fragments: []string{s, s}}}, TruncatedColumns: []string{s}}},
		Categories:        []search.Category{{Name: s}},
		Suggestions:       []search.Suggestion{{Text: s, Type: s}},
		Trends:            []search.Trend{{Period: s, TopQueries: []string{s}}},
		QueryOptimization: []search.Optimization{{Type: s, Description: s, Impact: s, SQLSuggestion: s}},
		Sources:           []search.SourceStatus{{ID: s, Name: s, Status: s, ErrorCode: s, Message: s}},
		Mode:              s,
		Notices:           []search.Notice{{Code: s, Message: s, Terms: []string{s}}},
		Enhancements:      []search.Enhancement{{Capability: s, Source: s, Reason: s}},
		SearchID:          s,
	}
}

// FuzzRenderMatchesProtojson renders pages built of fuzzed strings and
// numbers both ways: the bytes must be the same, or both must fail.
func FuzzRenderMatchesProtojson(f *testing.F) {
	f.Add("natural", "connection pools", 0.5, 1e-7, int64(12), int64(-3), true, uint8(0))
	f.Add("", "", 0.0, math.Copysign(0, -1), int64(0), int64(0), false, uint8(1))
	f.Add("<mark>&</mark>", "a\u2028b\u2029", 1e21, 1e20, int64(math.MaxInt64), int64(math.MinInt64), true, uint8(2))
	f.Add("\x00\x1f\"\\\x7f", "\xff", math.NaN(), math.Inf(1), int64(1)<<53+1, int64(math.MaxInt32)+1, false, uint8(3))
	f.Add("same", "same", 0.1, 0.2, int64(-1), int64(7), true, uint8(4))
	f.Add("日本語 🎉", "\uFFFD", math.MaxFloat64, math.SmallestNonzeroFloat64, int64(1500000), int64(-999), false, uint8(5))
	f.Add("b", "a", math.Inf(-1), -1e-300, int64(3), int64(4), true, uint8(6))
	f.Add("caf\xc3", "ok", 123456.789, 1.0/3, int64(42), int64(43), false, uint8(255))
	f.Fuzz(func(t *testing.T, a, b string, x, y float64, n, m int64, flag bool, kind uint8) {
		sameRendering(t, fuzzPage(a, b, x, y, n, m, flag, kind))
	})
}

// fuzzPage is a page whose every member is one of the fuzzed values; kind
// chooses the kinds of the data's values and whether lists are nil, empty
// or filled.
func fuzzPage(a, b string, x, y float64, n, m int64, flag bool, kind uint8) *search.Response {
	values := []any{nil, n, a, x, flag, m, b, y, int(n), []any{a, x}, map[string]any{b: y}, float32(x)}
	value := func(shift uint) any { return values[int(kind>>shift)%len(values)] }
	list := func(s ...string) []string {
		switch kind % 3 {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		return s
	}
	res := search.Result{
		ID: a, Table: b, Database: a + b, RelevanceScore: x, MatchedColumns: list(a, b),
		Data:    []search.Field{{Name: a, Value: value(0)}, {Name: b, Value: value(4)}, {Name: "id", Value: n}, {Name: a + b, Value: y}},
		Snippet: b + a, Categories: list(b), Highlights: []search.Highlight{{Column: a, Fragments: list(b, a)}}, TruncatedColumns: list(a),
	}
	r := &search.Response{
		Results:           []search.Result{res, {ID: b, RelevanceScore: y, Data: []search.Field{{Name: b, Value: value(2)}}}},
		Categories:        []search.Category{{Name: a, Count: int(n), Confidence: y}},
		Suggestions:       []search.Suggestion{{Text: b, Score: x, Type: a}},
		Trends:            []search.Trend{{Period: a, TopQueries: list(b, a), Volume: int(m), AvgResponseTime: time.Duration(n)}},
		QueryOptimization: []search.Optimization{{Type: a, Description: b, Impact: a, SQLSuggestion: b}},
		TotalCount:        int(n), TotalEstimated: flag, ExecutionTime: time.Duration(m), Page: int(m), Limit: int(n),
		Sources:      []search.SourceStatus{{ID: a, Name: b, Status: a, RowCount: int(m), Elapsed: time.Duration(n), ErrorCode: b, Message: a}},
		Mode:         b,
		Notices:      []search.Notice{{Code: a, Message: b, Terms: list(a, b)}},
		Enhancements: []search.Enhancement{{Capability: a, Source: b, Reason: a, Elapsed: time.Duration(m)}},
		Cached:       flag, SearchID: a,
	}
	if kind&1 == 0 {
		r.Results[1].Data = nil
		r.Categories, r.Suggestions, r.QueryOptimization = nil, nil, nil
	}
	return r
}
