package pool

import (
	"context"
	"testing"

	"github.com/altus4/altus/pkg/testenv"
)

func benchPool(b *testing.B) *Pool {
	b.Helper()
	_, cfg := testenv.OpenDatabase(b)
	p, err := New(Key{ID: "bench", Version: 1}, settingsOf(cfg), Options{MaxSize: 10, ReapInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		p.Close()
		<-p.Done()
	})
	return p
}

// BenchmarkPoolAcquireRelease measures taking a warm connection and giving
// it back (no query).
func BenchmarkPoolAcquireRelease(b *testing.B) {
	p := benchPool(b)
	ctx := context.Background()
	c, err := p.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	c.Release()
	b.ReportAllocs()
	for b.Loop() {
		c, err := p.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		c.Release()
	}
}

// BenchmarkPoolAcquireReleaseParallel is the same under contention from
// GOMAXPROCS goroutines sharing a pool of 10.
func BenchmarkPoolAcquireReleaseParallel(b *testing.B) {
	p := benchPool(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, err := p.Acquire(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			c.Release()
		}
	})
}

// BenchmarkPoolAcquireQueryRelease measures a round trip through the pool:
// acquire, SELECT 1, release.
func BenchmarkPoolAcquireQueryRelease(b *testing.B) {
	p := benchPool(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, err := p.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var one int
		if err := c.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			b.Fatal(err)
		}
		c.Release()
	}
}
