// Package wire converts the search domain's responses to and from the
// generated altus.search.v1 messages: for the gRPC adapter, and for the
// result cache, which stores each page twice: as a serialized
// SearchResponse (for gRPC callers) and rendered as the REST API's JSON
// (for the gateway, which passes it through), so that a hit costs neither
// kind of caller a conversion.
package wire

import (
	"fmt"
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/altus4/altus/pkg/edgecache"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/services/search/internal/search"
)

// Codec encodes pages for the result cache and renders them for the REST
// edge; it implements search.Codec. A cache value is the length of the
// serialized SearchResponse (a varint), the message, then the page's JSON
// rendering (Render).
type Codec struct{}

// Encode serializes r (its Trends left out: they are per request), or
// takes r.Message when Message encoded it, and appends its rendering
// (r.Rendered, or rendered now).
func (c Codec) Encode(r *search.Response) ([]byte, error) {
	page := *r
	page.Trends = nil
	m, ok := r.Message.(Encoded)
	if !ok {
		var err error
		if m, err = marshalPage(&page); err != nil {
			return nil, err
		}
	}
	rendered := r.Rendered
	if rendered == nil {
		var err error
		if rendered, err = c.Render(&page); err != nil {
			return nil, err
		}
	}
	out := make([]byte, 0, protowire.SizeVarint(uint64(len(m)))+len(m)+len(rendered))
	out = protowire.AppendVarint(out, uint64(len(m)))
	out = append(out, m...)
	return append(out, rendered...), nil
}

// Message serializes r as Encode stores it, without its Trends and
// SearchID (per request: CachedToProto sends them after it).
func (Codec) Message(r *search.Response) (any, error) {
	page := *r
	page.Trends, page.SearchID = nil, ""
	m, err := marshalPage(&page)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// marshalPage serializes a page as the cache stores it.
func marshalPage(page *search.Response) (Encoded, error) {
	m, err := proto.Marshal(ResponseToProto(page))
	if err != nil {
		return nil, fmt.Errorf("wire: encode search response: %w", err)
	}
	return m, nil
}

// EncodeEdge returns the cache value of an edge page (edgecache.Encode).
func (Codec) EncodeEdge(rendered []byte, sum search.EventSummary) ([]byte, error) {
	return edgecache.Encode(&searchv1.CachedPage{RenderedJson: rendered, Summary: SummaryToProto(sum)})
}

// SummaryToProto converts a search's event summary.
func SummaryToProto(s search.EventSummary) *searchv1.CachedSearchSummary {
	return &searchv1.CachedSearchSummary{
		Query: s.Query, SearchMode: s.Mode, Databases: s.Databases,
		ResultCount: clamp32(s.ResultCount), TotalCount: int64(s.TotalCount), ResultOffset: clamp32(s.ResultOffset),
	}
}

// SummaryFromProto converts a search's event summary back.
func SummaryFromProto(m *searchv1.CachedSearchSummary) search.EventSummary {
	return search.EventSummary{
		Query: m.GetQuery(), Mode: m.GetSearchMode(), Databases: m.GetDatabases(),
		ResultCount: int(m.GetResultCount()), TotalCount: int(m.GetTotalCount()), ResultOffset: int(m.GetResultOffset()),
	}
}

// Decode reads a cache value without decoding its results: the summary
// (totals, sources, notices, suggestions…) is decoded for the domain
// (events, metrics); the serialized page is kept in Message, for the gRPC
// adapter to send on as it is (CachedToProto), and its rendering in
// Rendered.
func (Codec) Decode(value []byte) (*search.Response, error) {
	size, n := protowire.ConsumeVarint(value)
	if n < 0 || size > uint64(len(value)-n) {
		return nil, fmt.Errorf("wire: decode search response: not a cached page")
	}
	b, rendered := value[n:n+int(size)], value[n+int(size):]
	if len(rendered) < 2 || rendered[0] != '{' || rendered[len(rendered)-1] != '}' {
		return nil, fmt.Errorf("wire: decode search response: no rendering")
	}
	summary, results, err := splitResults(b)
	if err != nil {
		return nil, fmt.Errorf("wire: decode search response: %w", err)
	}
	var m searchv1.SearchResponse
	if err := proto.Unmarshal(summary, &m); err != nil {
		return nil, fmt.Errorf("wire: decode search response: %w", err)
	}
	r := ResponseFromProto(&m)
	r.Message, r.ResultCount, r.Rendered = Encoded(b), results, rendered
	return r, nil
}

// Encoded is a serialized SearchResponse, as the result cache stores it.
type Encoded []byte

// resultsField is the field number of SearchResponse.results.
const resultsField = 1

// splitResults returns the top-level fields of a serialized
// SearchResponse but the results, and how many results there are.
func splitResults(b []byte) (summary []byte, results int, err error) {
	summary = make([]byte, 0, 512)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, 0, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, 0, protowire.ParseError(m)
		}
		if num == resultsField {
			results++
		} else {
			summary = append(summary, b[:n+m]...)
		}
		b = b[n+m:]
	}
	return summary, results, nil
}

// CachedToProto returns the message of a page that came from the cache
// (Response.Message), or nil for any other page. The stored bytes are sent
// as they are (as the message's unknown fields, which are marshalled
// verbatim and read by the receiver as the fields they are), followed by
// the fields brought up to date: cached, executionTime and trends (when a
// message is parsed, the last occurrence of a scalar field wins).
func CachedToProto(r *search.Response) *searchv1.SearchResponse {
	enc, ok := r.Message.(Encoded)
	if !ok {
		return nil
	}
	tail := &searchv1.SearchResponse{Cached: r.Cached, ExecutionTime: Millis(r.ExecutionTime), SearchId: r.SearchID}
	for _, t := range r.Trends {
		tail.Trends = append(tail.Trends, TrendToProto(t))
	}
	raw := make([]byte, len(enc), len(enc)+64)
	copy(raw, enc)
	raw, err := proto.MarshalOptions{}.MarshalAppend(raw, tail)
	if err != nil {
		return nil
	}
	m := &searchv1.SearchResponse{}
	m.ProtoReflect().SetUnknown(raw)
	return m
}

// Millis returns d in whole milliseconds as an int32 (saturated).
func Millis(d time.Duration) int32 {
	return int32(min(max(d.Milliseconds(), 0), math.MaxInt32))
}

// MillisFloat returns d in milliseconds with microsecond precision.
func MillisFloat(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func clamp32(n int) int32 {
	return int32(min(max(n, math.MinInt32), math.MaxInt32))
}

// ResponseToProto converts a page.
func ResponseToProto(r *search.Response) *searchv1.SearchResponse {
	m := &searchv1.SearchResponse{
		TotalCount:     clamp32(r.TotalCount),
		ExecutionTime:  Millis(r.ExecutionTime),
		Page:           clamp32(r.Page),
		Limit:          clamp32(r.Limit),
		TotalEstimated: r.TotalEstimated,
		SearchMode:     r.Mode,
		Cached:         r.Cached,
		SearchId:       r.SearchID,
	}
	m.Results = make([]*searchv1.SearchResult, len(r.Results))
	for i, res := range r.Results {
		m.Results[i] = resultToProto(res)
	}
	for _, s := range r.Suggestions {
		m.Suggestions = append(m.Suggestions, SuggestionToProto(s))
	}
	for _, t := range r.Trends {
		m.Trends = append(m.Trends, TrendToProto(t))
	}
	for _, o := range r.QueryOptimization {
		m.QueryOptimization = append(m.QueryOptimization, OptimizationToProto(o))
	}
	for _, s := range r.Sources {
		m.Sources = append(m.Sources, &searchv1.SourceStatus{
			Id: s.ID, Name: s.Name, Status: s.Status, RowCount: clamp32(s.RowCount),
			ElapsedMs: MillisFloat(s.Elapsed), ErrorCode: s.ErrorCode, Message: s.Message,
		})
	}
	for _, n := range r.Notices {
		m.Notices = append(m.Notices, &searchv1.Notice{Code: n.Code, Message: n.Message, Terms: n.Terms})
	}
	for _, c := range r.Categories {
		m.Categories = append(m.Categories, &searchv1.Category{Name: c.Name, Count: clamp32(c.Count), Confidence: c.Confidence})
	}
	for _, e := range r.Enhancements {
		m.Enhancements = append(m.Enhancements, &searchv1.Enhancement{Capability: e.Capability, Source: e.Source, Reason: e.Reason, ElapsedMs: MillisFloat(e.Elapsed)})
	}
	return m
}

func resultToProto(r search.Result) *searchv1.SearchResult {
	fields := make(map[string]*structpb.Value, len(r.Data))
	for _, f := range r.Data {
		fields[f.Name] = valueToProto(f.Value)
	}
	m := &searchv1.SearchResult{
		Id: r.ID, Table: r.Table, Database: r.Database, RelevanceScore: r.RelevanceScore,
		MatchedColumns: r.MatchedColumns, Data: &structpb.Struct{Fields: fields},
		Snippet: r.Snippet, Categories: r.Categories,
	}
	m.TruncatedColumns = r.TruncatedColumns
	for _, h := range r.Highlights {
		m.Highlights = append(m.Highlights, &searchv1.Highlight{Column: h.Column, Fragments: h.Fragments})
	}
	return m
}

func valueToProto(v any) *structpb.Value {
	switch x := v.(type) {
	case nil:
		return structpb.NewNullValue()
	case int64:
		return structpb.NewNumberValue(float64(x))
	case string:
		return structpb.NewStringValue(x)
	case float64:
		return structpb.NewNumberValue(x)
	case bool:
		return structpb.NewBoolValue(x)
	}
	return structpb.NewStringValue(fmt.Sprint(v))
}

// SuggestionToProto converts a suggestion.
func SuggestionToProto(s search.Suggestion) *searchv1.Suggestion {
	return &searchv1.Suggestion{Text: s.Text, Score: s.Score, Type: s.Type}
}

// TrendToProto converts a trend.
func TrendToProto(t search.Trend) *searchv1.TrendInsight {
	return &searchv1.TrendInsight{
		Period: t.Period, TopQueries: t.TopQueries, QueryVolume: clamp32(t.Volume),
		AvgResponseTime: MillisFloat(t.AvgResponseTime), PopularCategories: []string{},
	}
}

// OptimizationToProto converts an optimization.
func OptimizationToProto(o search.Optimization) *searchv1.QueryOptimization {
	return &searchv1.QueryOptimization{Type: o.Type, Description: o.Description, Impact: o.Impact, SqlSuggestion: o.SQLSuggestion}
}

// ResponseFromProto converts a page back (for cached pages).
func ResponseFromProto(m *searchv1.SearchResponse) *search.Response {
	r := &search.Response{
		TotalCount:     int(m.GetTotalCount()),
		TotalEstimated: m.GetTotalEstimated(),
		ExecutionTime:  time.Duration(m.GetExecutionTime()) * time.Millisecond,
		Page:           int(m.GetPage()),
		Limit:          int(m.GetLimit()),
		Mode:           m.GetSearchMode(),
		Cached:         m.GetCached(),
	}
	r.Results = make([]search.Result, len(m.GetResults()))
	for i, res := range m.GetResults() {
		r.Results[i] = resultFromProto(res)
	}
	for _, s := range m.GetSuggestions() {
		r.Suggestions = append(r.Suggestions, search.Suggestion{Text: s.GetText(), Score: s.GetScore(), Type: s.GetType()})
	}
	for _, t := range m.GetTrends() {
		r.Trends = append(r.Trends, search.Trend{Period: t.GetPeriod(), TopQueries: t.GetTopQueries(), Volume: int(t.GetQueryVolume()),
			AvgResponseTime: time.Duration(t.GetAvgResponseTime() * float64(time.Millisecond))})
	}
	for _, o := range m.GetQueryOptimization() {
		r.QueryOptimization = append(r.QueryOptimization, search.Optimization{Type: o.GetType(), Description: o.GetDescription(), Impact: o.GetImpact(), SQLSuggestion: o.GetSqlSuggestion()})
	}
	for _, s := range m.GetSources() {
		r.Sources = append(r.Sources, search.SourceStatus{
			ID: s.GetId(), Name: s.GetName(), Status: s.GetStatus(), RowCount: int(s.GetRowCount()),
			Elapsed: time.Duration(s.GetElapsedMs() * float64(time.Millisecond)), ErrorCode: s.GetErrorCode(), Message: s.GetMessage(),
		})
	}
	for _, n := range m.GetNotices() {
		r.Notices = append(r.Notices, search.Notice{Code: n.GetCode(), Message: n.GetMessage(), Terms: n.GetTerms()})
	}
	for _, c := range m.GetCategories() {
		r.Categories = append(r.Categories, search.Category{Name: c.GetName(), Count: int(c.GetCount()), Confidence: c.GetConfidence()})
	}
	for _, e := range m.GetEnhancements() {
		r.Enhancements = append(r.Enhancements, search.Enhancement{Capability: e.GetCapability(), Source: e.GetSource(), Reason: e.GetReason(),
			Elapsed: time.Duration(e.GetElapsedMs() * float64(time.Millisecond))})
	}
	return r
}

func resultFromProto(m *searchv1.SearchResult) search.Result {
	r := search.Result{
		ID: m.GetId(), Table: m.GetTable(), Database: m.GetDatabase(), RelevanceScore: m.GetRelevanceScore(),
		MatchedColumns: m.GetMatchedColumns(), Snippet: m.GetSnippet(), Categories: m.GetCategories(),
	}
	fields := m.GetData().GetFields()
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		r.Data = append(r.Data, search.Field{Name: k, Value: valueFromProto(fields[k])})
	}
	r.TruncatedColumns = m.GetTruncatedColumns()
	for _, h := range m.GetHighlights() {
		r.Highlights = append(r.Highlights, search.Highlight{Column: h.GetColumn(), Fragments: h.GetFragments()})
	}
	return r
}

func valueFromProto(v *structpb.Value) any {
	switch x := v.GetKind().(type) {
	case *structpb.Value_NumberValue:
		if f := x.NumberValue; f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			return int64(f)
		}
		return x.NumberValue
	case *structpb.Value_StringValue:
		return x.StringValue
	case *structpb.Value_BoolValue:
		return x.BoolValue
	}
	return nil
}
