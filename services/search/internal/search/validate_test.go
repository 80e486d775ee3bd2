package search

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/pkg/validate"
)

// violations returns "field:CODE" of every violation of err.
func violations(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *validate.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a validation error", err)
	}
	var out []string
	for _, v := range ve.Violations {
		out = append(out, v.Field+":"+v.Code)
	}
	slices.Sort(out)
	return out
}

func TestNormalizeReportsEveryProblemByJSONFieldName(t *testing.T) {
	long := strings.Repeat("é", MaxQueryRunes+1)
	many := make([]string, maxListItems+1)
	for i := range many {
		many[i] = strings.Repeat("t", i+1)
	}
	tests := []struct {
		name string
		req  Request
		want []string
	}{
		{"valid", Request{Query: "pools"}, nil},
		{"query of spaces", Request{Query: "   "}, []string{"query:REQUIRED"}},
		{"query of 500 runes", Request{Query: strings.Repeat("é", MaxQueryRunes)}, nil},
		{"query of 501 runes", Request{Query: long}, []string{"query:TOO_LONG"}},
		{"limit 101", Request{Query: "x", Limit: 101}, []string{"limit:OUT_OF_RANGE"}},
		{"negative limit", Request{Query: "x", Limit: -1}, []string{"limit:OUT_OF_RANGE"}},
		{"negative offset", Request{Query: "x", Offset: -1}, []string{"offset:OUT_OF_RANGE"}},
		{"deep offset", Request{Query: "x", Offset: MaxOffsetWindow, Limit: 1}, []string{"offset:OUT_OF_RANGE"}},
		{"deepest allowed", Request{Query: "x", Offset: MaxOffsetWindow - 100, Limit: 100}, nil},
		{"unknown mode", Request{Query: "x", Mode: "fuzzy"}, []string{"searchMode:INVALID_VALUE"}},
		{"too many tables", Request{Query: "x", Tables: many}, []string{"tables:TOO_MANY"}},
		{"everything at once", Request{Query: "", Limit: 500, Offset: -3, Mode: "regex"},
			[]string{"limit:OUT_OF_RANGE", "offset:OUT_OF_RANGE", "query:REQUIRED", "searchMode:INVALID_VALUE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := normalize(tt.req)
			if diff := cmp.Diff(tt.want, violations(t, err)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeAppliesDefaultsAndCleansLists(t *testing.T) {
	got, err := normalize(Request{
		Query: "  pools  ", Mode: "Boolean",
		Databases: []string{" a ", "b", "a", ""}, Tables: []string{"", " "}, Columns: []string{"title"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Request{Query: "pools", Mode: ModeBoolean, Limit: DefaultLimit, MaxValueChars: DefaultMaxValueChars,
		Databases: []string{"a", "b"}, Columns: []string{"title"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSplitListsAcceptsCommasAndRepeats(t *testing.T) {
	got := splitLists([]string{"a,b", "c", " d , e"})
	if diff := cmp.Diff([]string{"a", "b", "c", " d ", " e"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
