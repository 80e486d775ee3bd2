package cache

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/altus4/altus/pkg/validate"
)

// Namespaces of versioned entries (after the prefix); plain keys may not use them.
const (
	// versionNamespace holds version counters: prefix + "ver:" + name.
	versionNamespace = "ver:"
	// versionedNamespace holds values stored under versions:
	// prefix + "vv:" + key + "@" + v1 + "." + v2 ….
	versionedNamespace = "vv:"
	// MaxVersionKeys is how many counters one versioned entry may depend on.
	MaxVersionKeys = 64
)

// localTTL is how long a counter or value is kept in this process's memory
// (Redis client-side caching). Redis invalidates a counter the moment it
// moves, so the bound only limits memory for keys nobody changes.
const localTTL = time.Minute

// GetVersioned reads the counters named by versionKeys (a counter never set
// starts at the clock, startCounter) and the value stored under key for
// exactly those versions. Both reads go through the client-side cache: a
// hot entry costs no round trip, and Redis invalidates a cached counter when
// BumpVersions moves it, on every replica of the service.
func (s *Store) GetVersioned(ctx context.Context, versionKeys []string, key string) ([]int64, []byte, bool, error) {
	r, err := s.GetVersionedUnless(ctx, versionKeys, key, nil)
	return r.Versions, r.Value, r.Found, err
}

// Versioned is what GetVersionedUnless read.
type Versioned struct {
	Versions []int64
	Value    []byte
	Found    bool
	// TTL is how long Value has left to live: the client-side cache's
	// expiry, which is the server's (or, for a value longer-lived than
	// localTTL, less); 0 when unknown.
	TTL time.Duration
	// Unchanged is true when the versions were the held ones: nothing
	// else was read.
	Unchanged bool
}

// GetVersionedUnless is GetVersioned with the value's time to live, for a
// caller that may hold a copy of the value: when held is not empty and
// equals the current versions, the value is not read (Unchanged).
func (s *Store) GetVersionedUnless(ctx context.Context, versionKeys []string, key string, held []int64) (Versioned, error) {
	if err := checkVersioned(versionKeys, key); err != nil {
		return Versioned{}, err
	}
	var versions []int64
	var value []byte
	var ttl time.Duration
	found, unchanged := true, false
	err := s.call(ctx, "get versioned", func(ctx context.Context, c rueidis.Client) error {
		var err error
		if versions, err = s.readVersions(ctx, c, versionKeys); err != nil {
			return err
		}
		if len(held) > 0 && slices.Equal(held, versions) {
			unchanged = true
			return nil
		}
		vkey := s.versionedKey(key, versions)
		resp := c.DoCache(ctx, c.B().Get().Key(vkey).Cache(), localTTL)
		if resp.IsCacheHit() {
			s.localHits.Add(1)
		} else if resp.Error() == nil {
			// A value just fetched carries no expiry; the copy the
			// client-side cache now holds does (the server's PTTL).
			if again := c.DoCache(ctx, c.B().Get().Key(vkey).Cache(), localTTL); again.IsCacheHit() {
				resp = again
			}
		}
		b, err := resp.AsBytes()
		if rueidis.IsRedisNil(err) {
			found = false
			return nil
		}
		if err != nil {
			return err
		}
		value = b
		ms := resp.CachePTTL()
		if ms < 0 {
			// No client-side cache (ALTUS_REDIS_CLIENT_CACHE_MB=0): ask.
			ms, err = c.Do(ctx, c.B().Pttl().Key(vkey).Build()).AsInt64()
			if err != nil {
				return err
			}
		}
		if ms > 0 {
			ttl = time.Duration(ms) * time.Millisecond
		}
		return nil
	})
	if err != nil {
		return Versioned{}, err
	}
	switch {
	case unchanged:
		// A hit: the caller's copy is the current value.
		s.versionedHits.Add(1)
		return Versioned{Versions: versions, Unchanged: true}, nil
	case found:
		s.versionedHits.Add(1)
	default:
		s.versionedMisses.Add(1)
	}
	return Versioned{Versions: versions, Value: value, Found: found, TTL: ttl}, nil
}

// ReadVersions reads the counters named by versionKeys, as GetVersioned
// does, without reading a value: for a caller that will store a fresh one.
func (s *Store) ReadVersions(ctx context.Context, versionKeys []string) ([]int64, error) {
	var v validate.Collector
	checkVersionKeys(&v, versionKeys)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var versions []int64
	err := s.call(ctx, "read versions", func(ctx context.Context, c rueidis.Client) error {
		var err error
		versions, err = s.readVersions(ctx, c, versionKeys)
		return err
	})
	if err != nil {
		return nil, err
	}
	return versions, nil
}

// Entry is a key and the value to store under it.
type Entry struct {
	Key   string
	Value []byte
}

// MaxAlso bounds the further values of one SetVersioned.
const MaxAlso = 8

// SetVersioned stores value under key and the versions a GetVersioned
// returned, for ttl, and each of also under its key and the same versions,
// in one round trip to Redis. Every key and value is checked before
// anything is stored. A value computed while a counter moved lands under
// the old versions, where no later GetVersioned looks: it is never served.
func (s *Store) SetVersioned(ctx context.Context, key string, versions []int64, value []byte, ttl time.Duration, also ...Entry) error {
	var v validate.Collector
	checkRawKey(&v, "key", key)
	v.Check(len(versions) <= MaxVersionKeys, "versions", "TOO_MANY", "At most %d versions may be given; got %d.", MaxVersionKeys, len(versions))
	checkValue(&v, value, ttl)
	v.Check(len(also) <= MaxAlso, "also", "TOO_MANY", "At most %d further values may be stored with one; got %d.", MaxAlso, len(also))
	for i, e := range also {
		checkRawKey(&v, fmt.Sprintf("also[%d].key", i), e.Key)
		v.Check(len(e.Value) <= MaxValueBytes, fmt.Sprintf("also[%d].value", i), "TOO_LONG",
			"The value is %d bytes; the largest value the cache stores is %d bytes (4 MiB).", len(e.Value), MaxValueBytes)
	}
	if err := v.Err(); err != nil {
		return err
	}
	ms := int64((ttl + time.Millisecond - 1) / time.Millisecond)
	return s.call(ctx, "set versioned", func(ctx context.Context, c rueidis.Client) error {
		set := func(key string, value []byte) rueidis.Completed {
			return c.B().Set().Key(s.versionedKey(key, versions)).Value(rueidis.BinaryString(value)).PxMilliseconds(ms).Build().ToRetryable()
		}
		if len(also) == 0 {
			return c.Do(ctx, set(key, value)).Error()
		}
		cmds := make(rueidis.Commands, 0, 1+len(also))
		cmds = append(cmds, set(key, value))
		for _, e := range also {
			cmds = append(cmds, set(e.Key, e.Value))
		}
		for _, r := range c.DoMulti(ctx, cmds...) {
			if err := r.Error(); err != nil {
				return err
			}
		}
		return nil
	})
}

// BumpVersions moves each named counter by one and returns the new values.
// Redis then invalidates the counters in every client-side cache.
func (s *Store) BumpVersions(ctx context.Context, versionKeys []string) ([]int64, error) {
	var v validate.Collector
	checkVersionKeys(&v, versionKeys)
	if len(versionKeys) == 0 {
		v.Add("versionKeys", "REQUIRED", "Name at least one version counter to move.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := make([]int64, len(versionKeys))
	err := s.call(ctx, "bump versions", func(ctx context.Context, c rueidis.Client) error {
		// One INCR per counter, pipelined: a Cluster client sends each to
		// the node of its slot and answers in order. Not retried: an INCR
		// whose reply was lost would move twice, which is harmless (any move
		// invalidates) but retrying gains nothing either.
		// A counter Redis does not hold starts at the clock (startCounters).
		start := strconv.FormatInt(s.now().UnixMilli(), 10)
		cmds := make(rueidis.Commands, 0, 2*len(versionKeys))
		for _, k := range versionKeys {
			full := s.prefix + versionNamespace + k
			cmds = append(cmds, c.B().Set().Key(full).Value(start).Nx().Build(), c.B().Incr().Key(full).Build())
		}
		for i, r := range c.DoMulti(ctx, cmds...) {
			if i%2 == 0 {
				if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) {
					return err
				}
				continue
			}
			n, err := r.AsInt64()
			if err != nil {
				return err
			}
			out[i/2] = n
			s.floors.raise(s.prefix+versionNamespace+versionKeys[i/2], n, s.now())
		}
		return nil
	})
	return out, err
}

// readVersions reads counters through the client-side cache, one GET each so
// that counters in different cluster slots can be read together.
func (s *Store) readVersions(ctx context.Context, c rueidis.Client, versionKeys []string) ([]int64, error) {
	out := make([]int64, len(versionKeys))
	if len(versionKeys) == 0 {
		return out, nil
	}
	cmds := make([]rueidis.CacheableTTL, len(versionKeys))
	for i, k := range versionKeys {
		cmds[i] = rueidis.CT(c.B().Get().Key(s.prefix+versionNamespace+k).Cache(), localTTL)
	}
	now := s.now()
	for i, r := range c.DoMultiCache(ctx, cmds...) {
		n, err := r.AsInt64()
		full := s.prefix + versionNamespace + versionKeys[i]
		if rueidis.IsRedisNil(err) {
			if n, err = s.startCounter(ctx, c, full, now); err != nil {
				return nil, err
			}
			out[i] = n
			continue
		}
		if err != nil {
			return nil, err
		}
		if floor, ok := s.floors.get(full, now); ok && n < floor {
			// This process moved the counter and the memory copy predates
			// the move (Redis's invalidation has not arrived yet): ask Redis.
			if n, err = c.Do(ctx, c.B().Get().Key(full).Build()).AsInt64(); err != nil {
				return nil, err
			}
		}
		out[i] = n
	}
	return out, nil
}

// startCounter sets a counter Redis does not hold to the clock, in
// milliseconds, and returns its value (another process's, if it was first).
//
// Counters start at the clock, not at zero, so that they never go back: a
// Redis that lost its data (a restart without persistence, a failover to a
// replica that had not caught up) starts them again above any value they
// had, as long as no counter was moved more times than milliseconds went
// by. A copy of a value stored under the old versions (a page held at the
// edge, say) then never matches the new ones.
func (s *Store) startCounter(ctx context.Context, c rueidis.Client, full string, now time.Time) (int64, error) {
	rs := c.DoMulti(ctx,
		c.B().Set().Key(full).Value(strconv.FormatInt(now.UnixMilli(), 10)).Nx().Build(),
		c.B().Get().Key(full).Build())
	if err := rs[0].Error(); err != nil && !rueidis.IsRedisNil(err) {
		return 0, err
	}
	return rs[1].AsInt64()
}

// versionFloors holds, for a while, the values this process moved counters
// to. A floor outlives any memory copy that could contradict it (localTTL),
// then it is dropped.
type versionFloors struct {
	mu sync.Mutex
	m  map[string]versionFloor
}

type versionFloor struct {
	value int64
	until time.Time
}

func (f *versionFloors) raise(key string, value int64, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[string]versionFloor)
	}
	if len(f.m) > 4096 {
		for k, e := range f.m {
			if now.After(e.until) {
				delete(f.m, k)
			}
		}
	}
	if e, ok := f.m[key]; !ok || e.value < value {
		f.m[key] = versionFloor{value: value, until: now.Add(localTTL)}
	}
}

func (f *versionFloors) get(key string, now time.Time) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[key]
	if !ok || now.After(e.until) {
		return 0, false
	}
	return e.value, true
}

func (s *Store) versionedKey(key string, versions []int64) string {
	var b strings.Builder
	b.Grow(len(s.prefix) + len(versionedNamespace) + len(key) + 1 + 8*len(versions))
	b.WriteString(s.prefix)
	b.WriteString(versionedNamespace)
	b.WriteString(key)
	b.WriteByte('@')
	for i, v := range versions {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(v, 10))
	}
	return b.String()
}

func checkVersioned(versionKeys []string, key string) error {
	var v validate.Collector
	checkVersionKeys(&v, versionKeys)
	checkRawKey(&v, "key", key)
	return v.Err()
}

func checkVersionKeys(v *validate.Collector, keys []string) {
	if len(keys) > MaxVersionKeys {
		v.Add("versionKeys", "TOO_MANY", "At most %d version counters may be named; got %d.", MaxVersionKeys, len(keys))
		return
	}
	for _, k := range keys {
		if !checkRawKey(v, "versionKeys", k) {
			return
		}
	}
}

// checkRawKey checks a key's length only: versioned keys live in their own
// namespace, so no caller key can reach a counter or a plain value.
func checkRawKey(v *validate.Collector, field, key string) bool {
	switch {
	case key == "":
		v.Add(field, "REQUIRED", "Give a key of 1 to %d bytes.", MaxKeyBytes)
	case len(key) > MaxKeyBytes:
		v.Add(field, "TOO_LONG", "The key is %d bytes; keys are at most %d bytes.", len(key), MaxKeyBytes)
	default:
		return true
	}
	return false
}
