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

func TestRequestsStartEarlyOnlyWhileTheLastCountLeftHeadroom(t *testing.T) {
	r := rooms{m: map[string]room{}}
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	reset := now.Add(time.Hour)
	if r.take("apikey:a", now) {
		t.Fatal("a subject never counted started early")
	}
	r.set("apikey:a", Decision{Allowed: true, Limit: 1000, Remaining: EarlyHeadroom + 9, Reset: reset}, now)
	early := 0
	for r.take("apikey:a", now) {
		early++
	}
	if early != 10 {
		t.Errorf("%d requests started early with %d left, want 10 (down to the headroom)", early, EarlyHeadroom+9)
	}
	if r.take("apikey:b", now) {
		t.Error("another subject started early on a's count")
	}
	r.set("apikey:a", Decision{Allowed: true, Limit: 1000, Remaining: 500, Reset: reset}, now)
	if !r.take("apikey:a", now) {
		t.Error("a new count with room did not let a request start early")
	}
	if r.take("apikey:a", reset) {
		t.Error("a request started early on the count of a window that has ended")
	}
	r.set("apikey:a", Decision{Allowed: false, Limit: 1000, Remaining: 0, Reset: reset}, now)
	if r.take("apikey:a", now) {
		t.Error("a request started early after a refusal")
	}
}

func TestNoRequestStartsEarlyWhileTheSharedStoreFails(t *testing.T) {
	conn, err := grpcx.Dial(closedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	l := New(cachev1.NewCacheServiceClient(conn), 200*time.Millisecond, time.Minute, nil)
	now := time.Now()
	l.rooms.set("apikey:x", Decision{Allowed: true, Limit: 1000, Remaining: 900, Reset: now.Add(time.Hour)}, now)
	l.Allow(context.Background(), "apikey:x", 1000, time.Hour)
	if l.MayStartEarly("apikey:x") {
		t.Error("a request started early while the shared store was failing")
	}
}
