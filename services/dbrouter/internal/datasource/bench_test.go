package datasource

import (
	"context"
	"testing"
)

// BenchmarkGetSchemaCached measures GetDataSourceSchema's domain path when
// the schema is cached: the ownership read of the source in the metadata
// database plus the cache lookup (no information_schema query).
func BenchmarkGetSchemaCached(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	c := e.create(b, "user-a", "bench")
	if _, err := e.svc.Schema(ctx, "user-a", c.ID, false); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.Schema(ctx, "user-a", c.ID, false); err != nil {
			b.Fatal(err)
		}
	}
}
