package wire

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/altus4/altus/pkg/restjson"
	"github.com/altus4/altus/services/search/internal/search"
)

// A page's REST rendering is written here directly from the domain
// response rather than by converting it to a SearchResponse and rendering
// that with protojson (restjson.Render): on a fresh search that rendering
// was the service's largest CPU cost (reflection, a Compact pass, then
// dropping the per-request members). The writer makes protojson's choices
// exactly, and the tests hold it to the typed rendering byte for byte (so
// that a protobuf upgrade changing them fails them):
//
//   - members in the order the proto declares its fields, under their JSON
//     names, every field present (unset lists as [], scalars as 0, "" or
//     false);
//   - strings escaped as protojson escapes them: only '"', '\\' and the
//     control characters (\b \f \n \r \t, others as \u00xx); '<', '>', '&'
//     and U+2028/U+2029 are written as they are; invalid UTF-8 is an error;
//   - doubles in the shortest form that reads back exactly, with an
//     exponent below 1e-6 and from 1e21 on (as encoding/json), NaN and
//     the infinities as the strings "NaN", "Infinity" and "-Infinity";
//   - a result's data as a google.protobuf.Struct: its members sorted by
//     name (a Struct is a map; of two fields of one name the last wins),
//     integers as doubles, a NaN or infinite number an error.

var (
	errInvalidUTF8 = errors.New("a string is not valid UTF-8")
	errNonFinite   = errors.New("a number of a result's data is NaN or infinite")
)

// Render returns the page as the REST API renders a SearchResponse
// (pkg/restjson), without "cached", "executionTime", "searchId" and
// "renderedJson"; its Trends are left out ("trends": []).
func (Codec) Render(r *search.Response) ([]byte, error) {
	w := pageWriter{b: make([]byte, 0, sizeHint(r))}
	w.page(r)
	if w.err != nil {
		return nil, fmt.Errorf("wire: render search response: %w", w.err)
	}
	return w.b, nil
}

// RenderedWithTrends returns a rendered page (Codec.Render) with its
// "trends" replaced by trends, rendered alike; the member moves to the
// front of the page.
func RenderedWithTrends(rendered []byte, trends []search.Trend) ([]byte, error) {
	w := pageWriter{b: make([]byte, 0, 16+128*len(trends))}
	w.b = append(w.b, `"trends":`...)
	w.trends(trends)
	if w.err != nil {
		return nil, fmt.Errorf("wire: render trends: %w", w.err)
	}
	rest, err := restjson.WithoutKeys(rendered, "trends")
	if err != nil {
		return nil, fmt.Errorf("wire: render trends: %w", err)
	}
	return restjson.Prepend(rest, string(w.b)), nil
}

// pageWriter appends JSON to b. The first error (a string that is not
// UTF-8, a non-finite number in data) is kept in err and ends the
// rendering's use; writing goes on regardless, which keeps every call
// site free of checks.
type pageWriter struct {
	b   []byte
	err error
	// order is scratch space for sorting a result's data.
	order []int
}

func (w *pageWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// page writes a SearchResponse's members in field order, those of the
// fields cached (14), execution_time (7), rendered_json (15) and
// search_id (17) left out; trends (4) are always empty.
func (w *pageWriter) page(r *search.Response) {
	w.b = append(w.b, `{"results":[`...)
	for i := range r.Results {
		w.comma(i)
		w.result(&r.Results[i])
	}
	w.b = append(w.b, `],"categories":[`...)
	for i, c := range r.Categories {
		w.comma(i)
		w.b = append(w.b, `{"name":`...)
		w.string(c.Name)
		w.b = append(w.b, `,"count":`...)
		w.int32(c.Count)
		w.b = append(w.b, `,"confidence":`...)
		w.double(c.Confidence)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, `],"suggestions":[`...)
	for i, s := range r.Suggestions {
		w.comma(i)
		w.b = append(w.b, `{"text":`...)
		w.string(s.Text)
		w.b = append(w.b, `,"score":`...)
		w.double(s.Score)
		w.b = append(w.b, `,"type":`...)
		w.string(s.Type)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, `],"trends":[],"queryOptimization":[`...)
	for i, o := range r.QueryOptimization {
		w.comma(i)
		w.b = append(w.b, `{"type":`...)
		w.string(o.Type)
		w.b = append(w.b, `,"description":`...)
		w.string(o.Description)
		w.b = append(w.b, `,"impact":`...)
		w.string(o.Impact)
		w.b = append(w.b, `,"sqlSuggestion":`...)
		w.string(o.SQLSuggestion)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, `],"totalCount":`...)
	w.int32(r.TotalCount)
	w.b = append(w.b, `,"page":`...)
	w.int32(r.Page)
	w.b = append(w.b, `,"limit":`...)
	w.int32(r.Limit)
	w.b = append(w.b, `,"sources":[`...)
	for i := range r.Sources {
		w.comma(i)
		w.source(&r.Sources[i])
	}
	w.b = append(w.b, `],"totalEstimated":`...)
	w.b = strconv.AppendBool(w.b, r.TotalEstimated)
	w.b = append(w.b, `,"searchMode":`...)
	w.string(r.Mode)
	w.b = append(w.b, `,"notices":[`...)
	for i := range r.Notices {
		w.comma(i)
		n := &r.Notices[i]
		w.b = append(w.b, `{"code":`...)
		w.string(n.Code)
		w.b = append(w.b, `,"message":`...)
		w.string(n.Message)
		w.b = append(w.b, `,"terms":`...)
		w.strings(n.Terms)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, `],"enhancements":[`...)
	for i := range r.Enhancements {
		w.comma(i)
		e := &r.Enhancements[i]
		w.b = append(w.b, `{"capability":`...)
		w.string(e.Capability)
		w.b = append(w.b, `,"source":`...)
		w.string(e.Source)
		w.b = append(w.b, `,"reason":`...)
		w.string(e.Reason)
		w.b = append(w.b, `,"elapsedMs":`...)
		w.double(MillisFloat(e.Elapsed))
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, "]}"...)
}

// result writes a SearchResult.
func (w *pageWriter) result(r *search.Result) {
	w.b = append(w.b, `{"id":`...)
	w.string(r.ID)
	w.b = append(w.b, `,"table":`...)
	w.string(r.Table)
	w.b = append(w.b, `,"database":`...)
	w.string(r.Database)
	w.b = append(w.b, `,"relevanceScore":`...)
	w.double(r.RelevanceScore)
	w.b = append(w.b, `,"matchedColumns":`...)
	w.strings(r.MatchedColumns)
	w.b = append(w.b, `,"data":`...)
	w.data(r.Data)
	w.b = append(w.b, `,"snippet":`...)
	w.string(r.Snippet)
	w.b = append(w.b, `,"categories":`...)
	w.strings(r.Categories)
	w.b = append(w.b, `,"highlights":[`...)
	for i := range r.Highlights {
		w.comma(i)
		h := &r.Highlights[i]
		w.b = append(w.b, `{"column":`...)
		w.string(h.Column)
		w.b = append(w.b, `,"fragments":`...)
		w.strings(h.Fragments)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, `],"truncatedColumns":`...)
	w.strings(r.TruncatedColumns)
	w.b = append(w.b, '}')
}

// source writes a SourceStatus.
func (w *pageWriter) source(s *search.SourceStatus) {
	w.b = append(w.b, `{"id":`...)
	w.string(s.ID)
	w.b = append(w.b, `,"name":`...)
	w.string(s.Name)
	w.b = append(w.b, `,"status":`...)
	w.string(s.Status)
	w.b = append(w.b, `,"rowCount":`...)
	w.int32(s.RowCount)
	w.b = append(w.b, `,"elapsedMs":`...)
	w.double(MillisFloat(s.Elapsed))
	w.b = append(w.b, `,"errorCode":`...)
	w.string(s.ErrorCode)
	w.b = append(w.b, `,"message":`...)
	w.string(s.Message)
	w.b = append(w.b, '}')
}

// trends writes a list of TrendInsight (TrendToProto).
func (w *pageWriter) trends(trends []search.Trend) {
	w.b = append(w.b, '[')
	for i := range trends {
		w.comma(i)
		t := &trends[i]
		w.b = append(w.b, `{"period":`...)
		w.string(t.Period)
		w.b = append(w.b, `,"topQueries":`...)
		w.strings(t.TopQueries)
		w.b = append(w.b, `,"queryVolume":`...)
		w.int32(t.Volume)
		w.b = append(w.b, `,"avgResponseTime":`...)
		w.double(MillisFloat(t.AvgResponseTime))
		w.b = append(w.b, `,"popularCategories":[]}`...)
	}
	w.b = append(w.b, ']')
}

// data writes a result's fields as the Struct resultToProto makes of
// them: a map, so sorted by name, the last of two fields of one name
// kept.
func (w *pageWriter) data(fields []search.Field) {
	if cap(w.order) < len(fields) {
		w.order = make([]int, 0, max(len(fields), 16))
	}
	order := w.order[:0]
	for i := range fields {
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(fields[a].Name, fields[b].Name) })
	w.b = append(w.b, '{')
	n := 0
	for k, i := range order {
		if k+1 < len(order) && fields[order[k+1]].Name == fields[i].Name {
			continue // a later field of this name wins
		}
		w.comma(n)
		n++
		w.string(fields[i].Name)
		w.b = append(w.b, ':')
		w.value(fields[i].Value)
	}
	w.b = append(w.b, '}')
}

// value writes a data value as valueToProto converts it.
func (w *pageWriter) value(v any) {
	switch x := v.(type) {
	case nil:
		w.b = append(w.b, "null"...)
	case int64:
		w.number(float64(x))
	case string:
		w.string(x)
	case float64:
		w.number(x)
	case bool:
		w.b = strconv.AppendBool(w.b, x)
	default:
		w.string(fmt.Sprint(v))
	}
}

func (w *pageWriter) comma(i int) {
	if i > 0 {
		w.b = append(w.b, ',')
	}
}

// int32 writes n as an int32 field holds it (clamp32).
func (w *pageWriter) int32(n int) {
	w.b = strconv.AppendInt(w.b, int64(clamp32(n)), 10)
}

// double writes a double field: NaN and the infinities as strings.
func (w *pageWriter) double(f float64) {
	switch {
	case math.IsNaN(f):
		w.b = append(w.b, `"NaN"`...)
	case math.IsInf(f, 1):
		w.b = append(w.b, `"Infinity"`...)
	case math.IsInf(f, -1):
		w.b = append(w.b, `"-Infinity"`...)
	default:
		w.b = appendFloat(w.b, f)
	}
}

// number writes a google.protobuf.Value's number, which JSON cannot hold
// when NaN or infinite.
func (w *pageWriter) number(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		w.fail(errNonFinite)
		return
	}
	w.b = appendFloat(w.b, f)
}

// appendFloat appends the finite f as protojson (and encoding/json)
// format a double.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 is written 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func (w *pageWriter) strings(list []string) {
	w.b = append(w.b, '[')
	for i, s := range list {
		w.comma(i)
		w.string(s)
	}
	w.b = append(w.b, ']')
}

// plain says which ASCII bytes a JSON string holds as they are.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// string writes s as a JSON string, escaped as protojson escapes it.
func (w *pageWriter) string(s string) {
	b := append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			w.fail(errInvalidUTF8)
			break
		}
		i += n
	}
	b = append(b, s[start:]...)
	w.b = append(b, '"')
}

// sizeHint is about the length of r's rendering, for it to be written in
// one allocation.
func sizeHint(r *search.Response) int {
	n := 512 + 192*(len(r.Categories)+len(r.Suggestions)+len(r.QueryOptimization)+len(r.Sources)+len(r.Notices)+len(r.Enhancements))
	for i := range r.Results {
		res := &r.Results[i]
		n += 192 + len(res.ID) + len(res.Table) + len(res.Database) + len(res.Snippet) +
			24*(len(res.MatchedColumns)+len(res.Categories)+len(res.TruncatedColumns)+len(res.Data))
		for _, f := range res.Data {
			n += len(f.Name)
			if s, ok := f.Value.(string); ok {
				n += len(s)
			}
		}
		for _, h := range res.Highlights {
			n += 32 + len(h.Column)
			for _, f := range h.Fragments {
				n += 3 + len(f)
			}
		}
	}
	return n
}
