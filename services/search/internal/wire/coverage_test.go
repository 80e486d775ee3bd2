package wire_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/altus4/altus/pkg/restjson"
	"github.com/altus4/altus/services/search/internal/search"
	"github.com/altus4/altus/services/search/internal/wire"
)

// Codec.Render writes the REST JSON by hand, field by field. These tests
// make a field added to search.Response or to SearchResponse (or to a
// message in it) fail until the renderer writes it like protojson.

// fullPage is a page with every field set, down to those of its lists'
// members (TestFullPageSetsEveryField).
func fullPage() *search.Response {
	return &search.Response{
		Results: []search.Result{{
			ID: "s1:posts:1", Table: "posts", Database: "s1", RelevanceScore: 0.75, MatchedColumns: []string{"body"},
			Data: []search.Field{{Name: "id", Value: int64(1)}, {Name: "body", Value: "<b>text</b>"}, {Name: "score", Value: 2.5},
				{Name: "draft", Value: true}, {Name: "note", Value: nil}},
			Snippet: "…text…", Categories: []string{"databases"},
			Highlights:       []search.Highlight{{Column: "body", Fragments: []string{"<mark>text</mark>"}}},
			TruncatedColumns: []string{"body"},
		}},
		Categories:        []search.Category{{Name: "databases", Count: 1, Confidence: 0.75}},
		Suggestions:       []search.Suggestion{{Text: "texts", Score: 0.5, Type: search.SuggestSpelling}},
		Trends:            []search.Trend{{Period: "2026-03-11", TopQueries: []string{"pools"}, Volume: 2, AvgResponseTime: 5 * time.Millisecond}},
		QueryOptimization: []search.Optimization{{Type: "index", Description: "d", Impact: "high", SQLSuggestion: "ALTER TABLE posts ADD FULLTEXT (body)"}},
		TotalCount:        42, TotalEstimated: true, ExecutionTime: 12 * time.Millisecond, Page: 3, Limit: 20,
		Sources: []search.SourceStatus{{ID: "s1", Name: "kb", Status: search.StatusFailed, RowCount: 42, Elapsed: 1500 * time.Microsecond,
			ErrorCode: "DATABASE_CONNECTION_FAILED", Message: "refused"}},
		Mode:         search.ModeBoolean,
		Notices:      []search.Notice{{Code: search.NoticeTermsIgnored, Message: "m", Terms: []string{"the"}}},
		Enhancements: []search.Enhancement{{Capability: search.CapabilitySemantic, Source: search.EnhancedByFallback, Reason: "circuit_open", Elapsed: time.Millisecond}},
		Cached:       true,
		SearchID:     "0f8fad5b-d9cb-469f-a165-70867728950e",
	}
}

// notRendered are the fields of search.Response that are no part of a
// page's JSON: how a cached page was stored.
var notRendered = []string{"Response.Message", "Response.ResultCount", "Response.Rendered"}

func TestFullPageSetsEveryField(t *testing.T) {
	set := map[reflect.Type][]bool{}
	markSet(reflect.ValueOf(fullPage()), set)
	for typ, fields := range set {
		for i, ok := range fields {
			name := typ.Name() + "." + typ.Field(i).Name
			if !ok && !slices.Contains(notRendered, name) {
				t.Errorf("fullPage leaves %s unset: set it, and have Codec.Render write it", name)
			}
		}
	}
}

// markSet records in set, for each struct type of package search in v,
// which of its fields are set in at least one of its values.
func markSet(v reflect.Value, set map[reflect.Type][]bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			markSet(v.Elem(), set)
		}
	case reflect.Slice:
		for i := range v.Len() {
			markSet(v.Index(i), set)
		}
	case reflect.Struct:
		if !strings.HasSuffix(v.Type().PkgPath(), "/search") {
			return
		}
		fields := set[v.Type()]
		if fields == nil {
			fields = make([]bool, v.NumField())
			set[v.Type()] = fields
		}
		for i := range v.NumField() {
			if !v.Field(i).IsZero() {
				fields[i] = true
			}
			markSet(v.Field(i), set)
		}
	}
}

// neverSet are the fields of the messages ResponseToProto makes that it
// leaves unset (and Codec.Render writes as unset).
var neverSet = []protoreflect.FullName{
	"altus.search.v1.SearchResponse.rendered_json", // the gRPC adapter's, never part of the JSON
	"altus.search.v1.TrendInsight.popular_categories",
}

func TestResponseToProtoOfTheFullPageSetsEveryField(t *testing.T) {
	seen := map[protoreflect.FullName]bool{}
	populated := map[protoreflect.FullName]bool{}
	markPopulated(wire.ResponseToProto(fullPage()).ProtoReflect(), seen, populated)
	for name := range seen {
		switch {
		case slices.Contains(neverSet, name) && populated[name]:
			t.Errorf("%s is set now: take it off neverSet, and have Codec.Render write it", name)
		case !slices.Contains(neverSet, name) && !populated[name]:
			t.Errorf("%s is unset in the full page's message: set its domain field in fullPage, and have Codec.Render write it", name)
		}
	}
}

// markPopulated records every field of m and of the messages in it as
// seen, and as populated when set in at least one of them (the fields of
// well-known types aside: they are rendered by their own rules).
func markPopulated(m protoreflect.Message, seen, populated map[protoreflect.FullName]bool) {
	if wellKnown(m.Descriptor()) {
		return
	}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		seen[fd.FullName()] = true
		if !m.Has(fd) {
			continue
		}
		populated[fd.FullName()] = true
		switch {
		case fd.Message() == nil || fd.IsMap():
		case fd.IsList():
			for j := range m.Get(fd).List().Len() {
				markPopulated(m.Get(fd).List().Get(j).Message(), seen, populated)
			}
		default:
			markPopulated(m.Get(fd).Message(), seen, populated)
		}
	}
}

func wellKnown(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "google.protobuf.")
}

// The full page, with its trends, rendered as the edge serves it: every
// field of every message has its member, and nothing else is there.
func TestRenderHasAMemberForEveryFieldOfTheFullPage(t *testing.T) {
	p := fullPage()
	sameRendering(t, p)
	rendered, err := wire.Codec{}.Render(p)
	if err != nil {
		t.Fatal(err)
	}
	if rendered, err = wire.RenderedWithTrends(rendered, p.Trends); err != nil {
		t.Fatal(err)
	}
	var page map[string]any
	if err := json.Unmarshal(restjson.Prepend(rendered, `"cached":true,"executionTime":12,"searchId":"x"`), &page); err != nil {
		t.Fatal(err)
	}
	md := wire.ResponseToProto(p).ProtoReflect().Descriptor()
	checkMembers(t, md, page, "SearchResponse", map[string]bool{"renderedJson": true})
}

// checkMembers checks that obj, the rendering of a message of md at path,
// has exactly a member for each field of md (but those in absent), and
// the same of the messages in it.
func checkMembers(t *testing.T, md protoreflect.MessageDescriptor, obj map[string]any, path string, absent map[string]bool) {
	t.Helper()
	fields := md.Fields()
	want := map[string]bool{}
	for i := range fields.Len() {
		fd := fields.Get(i)
		name := fd.JSONName()
		if absent[name] {
			continue
		}
		want[name] = true
		v, ok := obj[name]
		if !ok {
			t.Errorf("%s has no %q", path, name)
			continue
		}
		if fd.Message() == nil || fd.IsMap() || wellKnown(fd.Message()) {
			continue
		}
		var elems []any
		if fd.IsList() {
			elems, _ = v.([]any)
			if len(elems) == 0 {
				t.Errorf("%s.%s is empty in the full page", path, name)
			}
		} else {
			elems = []any{v}
		}
		for j, e := range elems {
			o, ok := e.(map[string]any)
			if !ok {
				t.Errorf("%s.%s[%d] is no object: %v", path, name, j, e)
				continue
			}
			checkMembers(t, fd.Message(), o, path+"."+name, nil)
		}
	}
	for name := range obj {
		if !want[name] {
			t.Errorf("%s has %q, a member of no field", path, name)
		}
	}
}
