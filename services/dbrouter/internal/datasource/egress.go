package datasource

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
)

// AI egress policies: what of a source's rows may be sent to the AI
// provider by the enhance service.
const (
	// EgressFullText allows the columns of the source's FULLTEXT indexes
	// (the default).
	EgressFullText = "fulltext"
	// EgressListed allows only the "table.column" names of AIColumns.
	EgressListed = "listed"
	// EgressNone allows nothing of the rows.
	EgressNone = "none"
)

// MaxAIColumns bounds the columns a "listed" policy names.
const MaxAIColumns = 500

// CodeUnknown is the violation code of a listed column the schema lacks.
const CodeUnknown = "UNKNOWN"

// normalizeEgress returns the canonical policy ("" is EgressFullText).
func normalizeEgress(e string) string {
	e = strings.ToLower(strings.TrimSpace(e))
	if e == "" {
		return EgressFullText
	}
	return e
}

// checkEgress checks a policy and its columns (their form only; whether
// they exist is checkColumns' work) and returns the columns trimmed and
// de-duplicated.
func checkEgress(c *validate.Collector, egress string, columns []string) []string {
	switch egress {
	case EgressFullText, EgressListed, EgressNone:
	default:
		c.Add("aiEgress", CodeInvalid, "aiEgress must be %q (the columns of the FULLTEXT indexes, the default), %q (only aiColumns) or %q; got %q.",
			EgressFullText, EgressListed, EgressNone, egress)
		return nil
	}
	var out []string
	var malformed []string
	for _, col := range columns {
		col = strings.TrimSpace(col)
		if slices.Contains(out, col) {
			continue
		}
		table, column, ok := strings.Cut(col, ".")
		if !ok || table == "" || column == "" || strings.Contains(column, ".") {
			malformed = append(malformed, col)
			continue
		}
		out = append(out, col)
	}
	switch {
	case egress != EgressListed && len(columns) > 0:
		c.Add("aiColumns", CodeInvalid, "aiColumns may only be given with aiEgress %q; got aiEgress %q.", EgressListed, egress)
	case egress == EgressListed && len(columns) == 0:
		c.Add("aiColumns", CodeRequired, "With aiEgress %q, list the columns that may be sent to the AI provider as \"table.column\".", EgressListed)
	case len(malformed) > 0:
		c.Add("aiColumns", CodeInvalid, "aiColumns must be \"table.column\" names; these are not: %s.", quoted(malformed))
	case len(out) > MaxAIColumns:
		c.Add("aiColumns", CodeTooLong, "aiColumns may name at most %d columns; got %d.", MaxAIColumns, len(out))
	}
	return out
}

func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// unknownColumns returns the "table.column" names sc does not have.
func unknownColumns(sc schema.Schema, columns []string) []string {
	var unknown []string
	for _, col := range columns {
		table, column, _ := strings.Cut(col, ".")
		t, ok := sc.Table(table)
		if !ok {
			unknown = append(unknown, col)
			continue
		}
		if _, ok := t.Column(column); !ok {
			unknown = append(unknown, col)
		}
	}
	return unknown
}

// checkColumns discovers the schema of the database settings reach (with
// a connection of its own, closed at once: the settings may not be saved)
// and reports every listed column it does not have.
func (s *Service) checkColumns(ctx context.Context, settings pool.Settings, columns []string) error {
	if len(columns) == 0 {
		return nil
	}
	p, err := pool.New(pool.Key{ID: "egress-check"}, settings, s.pools.Options())
	if err != nil {
		return fmt.Errorf("datasource: %w", err)
	}
	defer p.Close()
	c, err := p.Acquire(ctx)
	if err != nil {
		return s.poolError(err)
	}
	defer c.Release()
	sc, err := schema.Discover(ctx, c, settings.Database, s.clock())
	if err != nil {
		return discoveryError(p, err)
	}
	if unknown := unknownColumns(sc, columns); len(unknown) > 0 {
		return validate.Field("aiColumns", CodeUnknown,
			"The database %s has no column %s; name existing columns as \"table.column\" (GET /api/v1/databases/{id}/schema lists them).",
			settings.Database, quoted(unknown))
	}
	return nil
}
