package ratelimit

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/pkg/grpcx"
)

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestLocalWindowAllowsExactlyLimitThenResetsAtTheBoundary(t *testing.T) {
	c := newLocal()
	base := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= 3; i++ {
		d := c.allow("k", 3, time.Hour, base.Add(time.Duration(i)*time.Minute))
		if !d.Allowed || d.Remaining != 3-i {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	if d := c.allow("k", 3, time.Hour, base.Add(30*time.Minute)); d.Allowed || d.Remaining != 0 || !d.Reset.Equal(base.Add(time.Hour)) {
		t.Fatalf("4th request: %+v, want denied with reset at the window end", d)
	}
	if d := c.allow("other", 3, time.Hour, base.Add(30*time.Minute)); !d.Allowed {
		t.Fatalf("another subject must have its own window: %+v", d)
	}
	if d := c.allow("k", 3, time.Hour, base.Add(time.Hour)); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("next window: %+v", d)
	}
}

// With the cache service unreachable the limiter still enforces the limit,
// locally, and reports itself degraded instead of refusing every request.
func TestUnreachableCacheFallsBackToLocalLimitsAndReportsDegraded(t *testing.T) {
	conn, err := grpcx.Dial(closedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reg := prometheus.NewRegistry()
	l := New(cachev1.NewCacheServiceClient(conn), 200*time.Millisecond, time.Minute, reg)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if d := l.Allow(ctx, "apikey:x", 2, time.Hour); !d.Allowed || !d.Local {
			t.Fatalf("request %d: %+v, want allowed locally", i, d)
		}
	}
	if d := l.Allow(ctx, "apikey:x", 2, time.Hour); d.Allowed {
		t.Fatalf("third request allowed: %+v", d)
	}
	if !l.Degraded() {
		t.Fatal("limiter does not report degraded")
	}
	if got := testutil.ToFloat64(l.degradedGauge); got != 1 {
		t.Fatalf("altus4_ratelimit_degraded = %v, want 1", got)
	}
}
