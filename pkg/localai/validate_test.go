package localai

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/pkg/validate"
)

func TestValidateNamesEveryViolation(t *testing.T) {
	long := strings.Repeat("x", MaxFieldBytes+1)
	tooMany := make([]Field, MaxFields+1)
	tests := []struct {
		name string
		r    CategorizeRequest
		want []validate.Violation
	}{
		{"no documents, categories out of range", CategorizeRequest{MaxCategories: 11}, []validate.Violation{
			{Field: "documents", Code: "REQUIRED", Message: "documents must not be empty"},
			{Field: "max_categories", Code: "OUT_OF_RANGE", Message: "max_categories must be between 1 and 10 (0 for the default); got 11"},
		}},
		{"too many documents", CategorizeRequest{Documents: make([]Document, MaxDocuments+1)}, []validate.Violation{
			{Field: "documents", Code: "TOO_MANY", Message: "at most 100 documents; got 101"},
		}},
		{"documents without ids, with too long an id, too many fields, a field too long", CategorizeRequest{
			Query: strings.Repeat("é", MaxQueryChars+1),
			Documents: []Document{
				{ID: "a", Fields: []Field{{Text: "ok"}, {Text: long}}},
				{Fields: tooMany},
				{ID: strings.Repeat("i", MaxIDChars+1), Fields: []Field{{Text: long}}},
			},
		}, []validate.Violation{
			{Field: "documents[0].fields[1].text", Code: "TOO_LONG", Message: "documents[0].fields[1].text must be at most 65536 bytes"},
			{Field: "documents[1].id", Code: "REQUIRED", Message: "documents[1].id must not be empty"},
			{Field: "documents[1].fields", Code: "TOO_MANY", Message: "documents[1] has more than 50 fields"},
			{Field: "documents[2].id", Code: "TOO_LONG", Message: "documents[2].id must be at most 256 characters"},
			{Field: "documents[2].fields[0].text", Code: "TOO_LONG", Message: "documents[2].fields[0].text must be at most 65536 bytes"},
			{Field: "query", Code: "TOO_LONG", Message: "query must be at most 1000 characters"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ve *validate.Error
			if err := tt.r.Validate(); !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a validation error", err)
			}
			if diff := cmp.Diff(tt.want, ve.Violations); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
	if err := (CategorizeRequest{Documents: packageCorpus(), Query: "redis", MaxCategories: 10}).Validate(); err != nil {
		t.Errorf("a page of results: %v", err)
	}
}
