package schema

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// loader counts its calls and answers schemas whose Fingerprint is the call
// number; when gate is set, each call waits for it.
type loader struct {
	calls   atomic.Int32
	gate    chan struct{}
	started chan struct{}
	fail    atomic.Bool
}

func (l *loader) load(ctx context.Context) (Schema, error) {
	n := l.calls.Add(1)
	if l.started != nil {
		l.started <- struct{}{}
	}
	if l.gate != nil {
		select {
		case <-l.gate:
		case <-ctx.Done():
			return Schema{}, ctx.Err()
		}
	}
	if l.fail.Load() {
		return Schema{}, errors.New("source down")
	}
	return Schema{Fingerprint: string(rune('0' + n))}, nil
}

func newTestCache() (*Cache, *clock) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return NewCache(CacheOptions{TTL: time.Minute, Now: c.Now}), c
}

func get(t *testing.T, c *Cache, key Key, refresh bool, l *loader) string {
	t.Helper()
	s, err := c.Get(context.Background(), key, refresh, l.load)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return s.Fingerprint
}

func TestCacheServesFreshEntriesWithoutReading(t *testing.T) {
	c, clk := newTestCache()
	l := &loader{}
	key := Key{ID: "a", Version: 1}
	for range 5 {
		if got := get(t, c, key, false, l); got != "1" {
			t.Fatalf("Get = %q, want the first read", got)
		}
		clk.Advance(10 * time.Second)
	}
	c.Wait()
	if n := l.calls.Load(); n != 1 {
		t.Errorf("loader called %d times within the TTL, want 1", n)
	}
}

func TestCacheServesStaleEntryWhileOneBackgroundRefreshRuns(t *testing.T) {
	c, clk := newTestCache()
	l := &loader{}
	key := Key{ID: "a", Version: 1}
	get(t, c, key, false, l)
	clk.Advance(time.Minute + time.Second)

	l.gate = make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if got := get(t, c, key, false, l); got != "1" {
				t.Errorf("Get during refresh = %q, want the stale entry", got)
			}
		})
	}
	wg.Wait() // every request was answered while the refresh is blocked
	close(l.gate)
	c.Wait()
	if n := l.calls.Load(); n != 2 {
		t.Errorf("loader called %d times, want 2 (one background refresh)", n)
	}
	if got := get(t, c, key, false, l); got != "2" {
		t.Errorf("Get after the refresh = %q, want the refreshed entry", got)
	}
}

func TestCacheKeepsServingStaleEntryWhenRefreshFails(t *testing.T) {
	c, clk := newTestCache()
	l := &loader{}
	key := Key{ID: "a", Version: 1}
	get(t, c, key, false, l)
	clk.Advance(2 * time.Minute)
	l.fail.Store(true)
	if got := get(t, c, key, false, l); got != "1" {
		t.Errorf("Get = %q, want the stale entry", got)
	}
	c.Wait()
	if got := get(t, c, key, false, l); got != "1" {
		t.Errorf("Get after a failed refresh = %q, want the stale entry", got)
	}
}

func TestCacheForcedRefreshReadsSynchronously(t *testing.T) {
	c, _ := newTestCache()
	l := &loader{}
	key := Key{ID: "a", Version: 1}
	get(t, c, key, false, l)
	if got := get(t, c, key, true, l); got != "2" {
		t.Errorf("forced Get = %q, want a new read", got)
	}
	if got := get(t, c, key, false, l); got != "2" {
		t.Errorf("Get after forced refresh = %q, want the refreshed entry", got)
	}
}

func TestCacheReadsAgainForANewVersionAndAfterInvalidate(t *testing.T) {
	c, _ := newTestCache()
	l := &loader{}
	get(t, c, Key{ID: "a", Version: 1}, false, l)
	if got := get(t, c, Key{ID: "a", Version: 2}, false, l); got != "2" {
		t.Errorf("Get of version 2 = %q, want a new read", got)
	}
	c.Invalidate("a")
	if got := get(t, c, Key{ID: "a", Version: 2}, false, l); got != "3" {
		t.Errorf("Get after Invalidate = %q, want a new read", got)
	}
}

func TestCacheCoalescesConcurrentMisses(t *testing.T) {
	c, _ := newTestCache()
	l := &loader{gate: make(chan struct{}), started: make(chan struct{}, 10)}
	key := Key{ID: "a", Version: 1}
	var wg sync.WaitGroup
	results := make(chan string, 10)
	for range 10 {
		wg.Go(func() { results <- get(t, c, key, false, l) })
	}
	// The first read is held until it has started; callers arriving
	// meanwhile join it, callers arriving after it find its entry.
	<-l.started
	close(l.gate)
	wg.Wait()
	close(results)
	for got := range results {
		if got != "1" {
			t.Errorf("Get = %q, want the shared first read", got)
		}
	}
	if n := l.calls.Load(); n != 1 {
		t.Errorf("loader called %d times for concurrent misses, want 1", n)
	}
}

func TestCacheCallerCancellationDoesNotFailOtherWaiters(t *testing.T) {
	c, _ := newTestCache()
	l := &loader{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	key := Key{ID: "a", Version: 1}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, key, false, l.load)
		first <- err
	}()
	<-l.started
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Get = %v, want context.Canceled", err)
	}
	close(l.gate)
	if got := get(t, c, key, false, l); got != "1" {
		t.Errorf("Get = %q, want the read the cancelled caller started", got)
	}
}
