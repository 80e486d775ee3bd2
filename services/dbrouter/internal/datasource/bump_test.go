package datasource

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// recordingBumper records the users whose sources version was bumped; fail
// makes it fail (after waiting for the deadline when block is set).
type recordingBumper struct {
	mu    sync.Mutex
	users []string
	fail  bool
	block bool
	// bounds are how long each call was given (its context's deadline).
	bounds []time.Duration
}

func (b *recordingBumper) BumpSources(ctx context.Context, userID string) error {
	b.mu.Lock()
	b.users = append(b.users, userID)
	if dl, ok := ctx.Deadline(); ok {
		b.bounds = append(b.bounds, time.Until(dl))
	} else {
		b.bounds = append(b.bounds, -1)
	}
	fail, block := b.fail, b.block
	b.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	if fail {
		return errors.New("cache unavailable")
	}
	return nil
}

func (b *recordingBumper) bumped() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := append([]string(nil), b.users...)
	b.users = nil
	return out
}

// withBumper returns a Service of e that bumps through b.
func (e *env) withBumper(t *testing.T, b VersionBumper, timeout time.Duration) *Service {
	t.Helper()
	svc, err := New(Options{Store: e.store, Cipher: e.cipher, Pools: e.pools, Schemas: e.schemas, Now: e.clock.Now, Bumper: b, BumpTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestEveryChangeOfASourceBumpsItsUsersVersion(t *testing.T) {
	e := newEnv(t)
	b := &recordingBumper{}
	svc := e.withBumper(t, b, 0)
	ctx := context.Background()

	c, err := svc.Create(ctx, "owner", e.input("blog"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"owner"}, b.bumped()); diff != "" {
		t.Errorf("create (-want +got):\n%s", diff)
	}
	// Reads change nothing.
	if _, err := svc.Get(ctx, "owner", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Describe(ctx, "owner", nil); err != nil {
		t.Fatal(err)
	}
	if got := b.bumped(); len(got) != 0 {
		t.Errorf("reads bumped %v", got)
	}
	// A failed update changes nothing either.
	if _, err := svc.Update(ctx, "owner", c.ID, UpdateInput{Password: ptr("wrong")}); !errors.Is(err, ErrConnectionFailed) {
		t.Fatalf("update with a wrong password: %v", err)
	}
	if got := b.bumped(); len(got) != 0 {
		t.Errorf("a failed update bumped %v", got)
	}
	if _, err := svc.Update(ctx, "owner", c.ID, UpdateInput{Name: ptr("renamed")}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"owner"}, b.bumped()); diff != "" {
		t.Errorf("update (-want +got):\n%s", diff)
	}
	if err := svc.Delete(ctx, "owner", c.ID); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"owner"}, b.bumped()); diff != "" {
		t.Errorf("delete (-want +got):\n%s", diff)
	}
}

func TestASchemaReadWithAnotherFingerprintBumpsItsUsersVersion(t *testing.T) {
	e := newEnv(t)
	b := &recordingBumper{}
	svc := e.withBumper(t, b, 0)
	ctx := context.Background()
	c, err := svc.Create(ctx, "owner", e.input("blog"))
	if err != nil {
		t.Fatal(err)
	}
	b.bumped()
	first, err := svc.Schema(ctx, "owner", c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Schema(ctx, "owner", c.ID, true); err != nil {
		t.Fatal(err)
	}
	if got := b.bumped(); len(got) != 0 {
		t.Errorf("reads of an unchanged schema bumped %v", got)
	}
	if _, err := e.admin.ExecContext(ctx, "ALTER TABLE ledger ADD COLUMN note TEXT"); err != nil {
		t.Fatal(err)
	}
	changed, err := svc.Schema(ctx, "owner", c.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Fingerprint == first.Fingerprint {
		t.Fatal("the fingerprint did not move with the new column")
	}
	if diff := cmp.Diff([]string{"owner"}, b.bumped()); diff != "" {
		t.Errorf("schema change (-want +got):\n%s", diff)
	}
	if changed.Server.Version == "" || changed.Server.StatementTimeLimit == "" {
		t.Errorf("the schema carries no server facts: %+v", changed.Server)
	}
}

func TestAFailedBumpIsCountedAndNeverFailsOrStallsTheChange(t *testing.T) {
	e := newEnv(t)
	b := &recordingBumper{fail: true, block: true}
	svc := e.withBumper(t, b, 100*time.Millisecond)
	reg := prometheus.NewRegistry()
	if err := svc.Register(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(context.Background(), "owner", e.input("blog")); err != nil {
		t.Fatalf("Create with the cache down: %v", err)
	}
	// The call that never answers was given at most the 100ms bound.
	if len(b.bounds) != 1 || b.bounds[0] <= 0 || b.bounds[0] > 100*time.Millisecond {
		t.Errorf("bump bounds = %v, want one call bounded by 100ms", b.bounds)
	}
	if got := testutil.ToFloat64(svc.bumps.WithLabelValues("failed")); got != 1 {
		t.Errorf("failed bumps = %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(reg, MetricVersionBumps); err != nil || n == 0 {
		t.Errorf("%s not exported (%d series, %v)", MetricVersionBumps, n, err)
	}
}

func TestDescribeReportsASourceThatDoesNotAnswerWithinItsBound(t *testing.T) {
	e := newEnv(t)
	// A server that accepts connections and never says a word.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	svc, err := New(Options{Store: e.store, Cipher: e.cipher, Pools: e.pools, Schemas: e.schemas, Now: e.clock.Now, DescribeTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	up := e.create(t, "owner", "up")
	silent := e.create(t, "owner", "silent")
	port := l.Addr().(*net.TCPAddr).Port
	// Point the saved source at the silent server, as if its host had hung.
	if _, err := e.meta.ExecContext(ctx, "UPDATE data_sources SET port = ?, version = version + 1 WHERE id = ?", port, silent.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := svc.Describe(ctx, "owner", []string{silent.ID, up.ID})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Describe took %s, want about the 300ms bound (the connect timeout is 5s)", took)
	}
	if !errors.Is(got[0].Err, ErrConnectionFailed) || len(got[0].Schema.Tables) != 0 {
		t.Errorf("silent source: err %v, %d tables; want ErrConnectionFailed", got[0].Err, len(got[0].Schema.Tables))
	}
	if got[1].Err != nil || len(got[1].Schema.Tables) == 0 {
		t.Errorf("up source: err %v, %d tables", got[1].Err, len(got[1].Schema.Tables))
	}
	if _, err := svc.Describe(ctx, "intruder", []string{up.ID}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another user's id: %v, want ErrNotFound", err)
	}
}
