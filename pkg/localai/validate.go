package localai

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/altus4/altus/pkg/validate"
)

// Bounds of the enhance service's requests of documents: larger requests
// are refused with field details.
const (
	MaxQueryChars = 1000
	MaxDocuments  = 100
	MaxFields     = 50
	MaxFieldBytes = 64 << 10
	MaxIDChars    = 256
	// MaxCategories bounds CategorizeRequest.MaxCategories.
	MaxCategories = 10
)

// Validate checks r as the enhance service does before answering it.
func (r CategorizeRequest) Validate() error {
	var c validate.Collector
	CheckDocuments(&c, r.Documents)
	CheckQuery(&c, r.Query, false)
	CheckRange(&c, "max_categories", r.MaxCategories, MaxCategories)
	return c.Err()
}

// CheckRange checks a count of a request: 0 for its default, or 1 to hi.
func CheckRange(c *validate.Collector, field string, v, hi int) {
	c.Check(v >= 0 && v <= hi, field, "OUT_OF_RANGE", "%s must be between 1 and %d (0 for the default); got %d", field, hi, v)
}

// CheckQuery checks a request's query (required: not empty).
func CheckQuery(c *validate.Collector, q string, required bool) {
	if required && strings.TrimSpace(q) == "" {
		c.Add("query", "REQUIRED", "query must not be empty")
		return
	}
	c.Check(utf8.RuneCountInString(q) <= MaxQueryChars, "query", "TOO_LONG", "query must be at most %d characters", MaxQueryChars)
}

// CheckDocuments checks a request's documents: some, within the bounds,
// each with an id.
func CheckDocuments(c *validate.Collector, docs []Document) {
	if len(docs) == 0 {
		c.Add("documents", "REQUIRED", "documents must not be empty")
		return
	}
	if !c.Check(len(docs) <= MaxDocuments, "documents", "TOO_MANY", "at most %d documents; got %d", MaxDocuments, len(docs)) {
		return
	}
	// The names of fields are only written for those in error: a valid
	// request costs no formatting.
	for i, d := range docs {
		doc := func() string { return fmt.Sprintf("documents[%d]", i) }
		if d.ID == "" {
			c.Add(doc()+".id", "REQUIRED", "%s.id must not be empty", doc())
		}
		if utf8.RuneCountInString(d.ID) > MaxIDChars {
			c.Add(doc()+".id", "TOO_LONG", "%s.id must be at most %d characters", doc(), MaxIDChars)
		}
		if len(d.Fields) > MaxFields {
			c.Add(doc()+".fields", "TOO_MANY", "%s has more than %d fields", doc(), MaxFields)
			continue
		}
		for j, fl := range d.Fields {
			if len(fl.Text) > MaxFieldBytes {
				c.Add(fmt.Sprintf("%s.fields[%d].text", doc(), j), "TOO_LONG", "%s.fields[%d].text must be at most %d bytes", doc(), j, MaxFieldBytes)
			}
		}
	}
}
