package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/cache/internal/cache"
	"github.com/altus4/altus/services/cache/internal/redisx"
)

func TestVersionedEntryIsFoundOnlyUnderTheVersionsItWasStoredWith(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cache.Options{})
	keys := []string{"sources:u1"}

	before := time.Now().UnixMilli()
	versions, _, found, err := e.store.GetVersioned(ctx, keys, "search:abc")
	if err != nil || found {
		t.Fatalf("first read: found=%v err=%v", found, err)
	}
	if len(versions) != 1 || versions[0] < before || versions[0] > time.Now().UnixMilli() {
		t.Fatalf("a counter never set starts at the clock (%d..): %v", before, versions)
	}
	start := versions[0]
	if err := e.store.SetVersioned(ctx, "search:abc", versions, []byte("page one"), time.Minute); err != nil {
		t.Fatal(err)
	}
	// The first read cached the miss in memory; the write makes Redis
	// invalidate it, so the value shows within moments.
	v := readEventually(t, e.store, keys, "search:abc")
	if string(v) != "page one" {
		t.Fatalf("after set: %q", v)
	}

	bumped, err := e.store.BumpVersions(ctx, keys)
	if err != nil || bumped[0] != start+1 {
		t.Fatalf("bump: %v %v; want %d", bumped, err, start+1)
	}
	versions, _, found, err = e.store.GetVersioned(ctx, keys, "search:abc")
	if err != nil || found || versions[0] != start+1 {
		t.Fatalf("after bump: versions %v found=%v err=%v; the old value must not be served", versions, found, err)
	}
	// A value computed under the old versions (a search that raced the bump)
	// lands where nobody looks.
	if err := e.store.SetVersioned(ctx, "search:abc", []int64{start}, []byte("stale"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, found, _ := e.store.GetVersioned(ctx, keys, "search:abc"); found {
		t.Fatal("a value stored under old versions was served")
	}
}

// readEventually reads a versioned value that was just written, allowing
// Redis a moment to invalidate a miss held in memory.
func readEventually(t *testing.T, s *cache.Store, keys []string, key string) []byte {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, v, found, err := s.GetVersioned(context.Background(), keys, key)
		if err != nil {
			t.Fatal(err)
		}
		if found {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not visible two seconds after it was stored", key)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestHotVersionedEntriesAreServedFromMemory(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cache.Options{})
	keys := []string{"sources:u2"}
	versions, _, _, err := e.store.GetVersioned(ctx, keys, "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetVersioned(ctx, "k", versions, []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	readEventually(t, e.store, keys, "k") // fills the local cache
	before := e.store.LocalHits()
	if _, v, found, err := e.store.GetVersioned(ctx, keys, "k"); err != nil || !found || string(v) != "v" {
		t.Fatalf("hot read: %q %v %v", v, found, err)
	}
	if e.store.LocalHits() != before+1 {
		t.Fatalf("the hot read went to Redis (local hits %d -> %d)", before, e.store.LocalHits())
	}
}

// Two replicas of the service: a bump through one invalidates the counter
// the other holds in memory (Redis client-side caching invalidation).
func TestBumpThroughOneReplicaInvalidatesAnother(t *testing.T) {
	ctx := context.Background()
	a := newEnv(t, cache.Options{})
	clientB, err := redisx.New(a.cfg, redisx.Options{ClientCacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer clientB.Close()
	b := cache.New(clientB, cache.Options{Prefix: a.cfg.Prefix, Log: quiet})
	keys := []string{"sources:u3"}

	v0, _, _, err := a.store.GetVersioned(ctx, keys, "k")
	if err != nil {
		t.Fatal(err)
	}
	a.store.GetVersioned(ctx, keys, "k") // replica A now holds the counter in memory
	if _, err := b.BumpVersions(ctx, keys); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		v, _, _, err := a.store.GetVersioned(ctx, keys, "k")
		if err != nil {
			t.Fatal(err)
		}
		if v[0] == v0[0]+1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica A still reads version %d two seconds after replica B moved it", v[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestVersionedCallsValidateAndReserveTheirNamespaces(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cache.Options{})
	var ve *validate.Error
	if _, _, _, err := e.store.GetVersioned(ctx, []string{""}, "k"); !errors.As(err, &ve) {
		t.Fatalf("empty version key: %v", err)
	}
	if _, err := e.store.BumpVersions(ctx, nil); !errors.As(err, &ve) {
		t.Fatalf("no version keys: %v", err)
	}
	for _, k := range []string{"ver:sources:u1", "vv:search:x@0"} {
		if err := e.store.Set(ctx, k, []byte("x"), time.Minute); !errors.As(err, &ve) {
			t.Fatalf("plain Set of %q: %v, want a RESERVED validation error", k, err)
		}
	}
}

func TestVersionedCallsAreUnavailableWhenRedisIsDown(t *testing.T) {
	s := deadStore(t, 100*time.Millisecond)
	start := time.Now()
	_, _, _, err := s.GetVersioned(context.Background(), []string{"sources:u"}, "k")
	if !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("GetVersioned with Redis down: %v", err)
	}
	if _, err := s.BumpVersions(context.Background(), []string{"sources:u"}); !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("BumpVersions with Redis down: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

func TestCountersLostByRedisStartAgainAboveEveryValueTheyHad(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cache.Options{})
	keys := []string{"sources:u9"}
	first, err := e.store.BumpVersions(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if first[0] < time.Now().Add(-time.Minute).UnixMilli() {
		t.Fatalf("a counter never set was bumped to %d; want it to start at the clock", first[0])
	}
	held := first[0]
	// Redis loses the counter (a restart without persistence).
	lost, err := e.raw.Do(ctx, e.raw.B().Keys().Pattern(e.cfg.Prefix+"*sources:u9").Build()).AsStrSlice()
	if err != nil || len(lost) != 1 {
		t.Fatalf("the counter's key: %v %v", lost, err)
	}
	if err := e.raw.Do(ctx, e.raw.B().Del().Key(lost...).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	again, err := e.store.BumpVersions(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if again[0] <= held {
		t.Fatalf("after Redis lost the counter it moved to %d, not above %d: a copy held under the old versions would match", again[0], held)
	}
}

func TestAHeldCopyConfirmedCurrentCountsAsAResultCacheHit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cache.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.store.Collectors()...)
	keys := []string{"sources:u7"}
	miss, err := e.store.GetVersionedUnless(ctx, keys, "search-edge:q", nil)
	if err != nil || miss.Found {
		t.Fatalf("first read: %+v, %v", miss, err)
	}
	if err := e.store.SetVersioned(ctx, "search-edge:q", miss.Versions, []byte("page"), time.Minute); err != nil {
		t.Fatal(err)
	}
	readEventually(t, e.store, keys, "search-edge:q") // misses until Redis invalidates, then a hit
	hits, misses := gauge(t, reg, "altus4_cache_result_hits_total"), gauge(t, reg, "altus4_cache_result_misses_total")
	held, err := e.store.GetVersionedUnless(ctx, keys, "search-edge:q", miss.Versions)
	if err != nil || !held.Unchanged || held.Value != nil {
		t.Fatalf("with the copy held: %+v, %v; want unchanged and no value", held, err)
	}
	if got := gauge(t, reg, "altus4_cache_result_hits_total"); got != hits+1 {
		t.Errorf("result hits %v after a confirmed copy, %v before; want one more", got, hits)
	}
	want := (hits + 1) / (hits + 1 + misses)
	if got := gauge(t, reg, `altus4_cache_hit_ratio{cache_type="results"}`); got != want {
		t.Errorf("results hit ratio = %v; want %v", got, want)
	}
}

func TestSetVersionedStoresFurtherValuesUnderTheSameVersionsOnlyWhenEveryOneIsValid(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cache.Options{})
	keys := []string{"sources:u7"}
	versions, _, _, err := e.store.GetVersioned(ctx, keys, "search:p")
	if err != nil {
		t.Fatal(err)
	}

	// One bad further value: nothing is stored, not even the valid ones.
	var ve *validate.Error
	err = e.store.SetVersioned(ctx, "search:p", versions, []byte("page"), time.Minute,
		cache.Entry{Key: "search-edge:p", Value: []byte("edge")}, cache.Entry{Key: "", Value: []byte("x")})
	if !errors.As(err, &ve) || len(ve.Violations) != 1 || ve.Violations[0].Field != "also[1].key" {
		t.Fatalf("an empty further key: %v, want one validation error naming also[1].key", err)
	}
	stored, err := e.raw.Do(ctx, e.raw.B().Keys().Pattern(e.cfg.Prefix+"vv:*").Build()).AsStrSlice()
	if err != nil || len(stored) != 0 {
		t.Fatalf("a refused call stored %v (%v)", stored, err)
	}
	many := make([]cache.Entry, cache.MaxAlso+1)
	for i := range many {
		many[i] = cache.Entry{Key: "k", Value: []byte("v")}
	}
	if err := e.store.SetVersioned(ctx, "search:p", versions, []byte("page"), time.Minute, many...); !errors.As(err, &ve) {
		t.Fatalf("%d further values: %v, want a validation error", len(many), err)
	}

	if err := e.store.SetVersioned(ctx, "search:p", versions, []byte("page"), time.Minute,
		cache.Entry{Key: "search-edge:p", Value: []byte("edge")}); err != nil {
		t.Fatal(err)
	}
	if v := readEventually(t, e.store, keys, "search:p"); string(v) != "page" {
		t.Fatalf("the first value: %q", v)
	}
	if v := readEventually(t, e.store, keys, "search-edge:p"); string(v) != "edge" {
		t.Fatalf("the further value: %q", v)
	}
	if _, err := e.store.BumpVersions(ctx, keys); err != nil {
		t.Fatal(err)
	}
	if _, _, found, _ := e.store.GetVersioned(ctx, keys, "search-edge:p"); found {
		t.Fatal("the further value outlived a bump of the versions it was stored under")
	}
}
