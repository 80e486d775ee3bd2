package fulltext

import (
	"context"
	"testing"

	"github.com/altus4/altus/services/dbrouter/internal/sqlbuild"
)

// benchQueries are common words of the Debian corpus, from thousands of
// matches to a few hundred.
var benchQueries = []string{"library", "python module", "development files", "gnome", "server"}

// BenchmarkCount compares the ways of counting a plan's matches on every
// Debian package: no count (the search alone), the total in the same
// statement (COUNT(*) OVER ()), and a separate COUNT(*) after the search.
// Pages are full (limit 20 of thousands of matches), so the separate count
// is always needed.
func BenchmarkCount(b *testing.B) {
	for _, tc := range []struct {
		name     string
		strategy string
		count    bool
	}{
		{"none", CountSeparate, false},
		{"window", CountWindow, true},
		{"separate", CountSeparate, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnvB(b, Options{CountStrategy: tc.strategy, CountBudget: 10e9, StatementTimeout: 10e9})
			ctx := context.Background()
			i := 0
			for b.Loop() {
				q := benchQueries[i%len(benchQueries)]
				i++
				resp, err := e.exec.Execute(ctx, "owner", Request{SourceID: e.src.src.ID, Plans: []Plan{
					{Table: "debian", Index: "ft_description", Mode: sqlbuild.ModeNatural, Against: q, Limit: 20, Count: tc.count},
				}})
				if err != nil {
					b.Fatalf("%q: %v", q, err)
				}
				if resp.Plans[0].Err != nil || len(resp.Plans[0].Rows) != 20 {
					b.Fatalf("%q: %v, %d rows", q, resp.Plans[0].Err, len(resp.Plans[0].Rows))
				}
				if tc.count && (resp.Plans[0].Total <= 20 || resp.Plans[0].TotalEstimated) {
					b.Fatalf("%q: total %d estimated %v", q, resp.Plans[0].Total, resp.Plans[0].TotalEstimated)
				}
			}
		})
	}
}
