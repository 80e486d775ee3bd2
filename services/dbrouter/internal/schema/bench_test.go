package schema

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCacheGetFresh measures a cache hit alone.
func BenchmarkCacheGetFresh(b *testing.B) {
	c := NewCache(CacheOptions{TTL: time.Hour})
	load := func(context.Context) (Schema, error) { return Schema{Tables: make([]Table, 20)}, nil }
	key := Key{ID: "a", Version: 1}
	ctx := context.Background()
	if _, err := c.Get(ctx, key, false, load); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(ctx, key, false, load); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
