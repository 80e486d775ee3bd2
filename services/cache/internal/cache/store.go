// Package cache is the cache service's domain: values with a time to live
// and fixed-window rate-limit counters, kept in Redis under the service's
// key prefix. It knows nothing of gRPC; it reports a Redis that cannot be
// reached as ErrUnavailable, promptly, so that callers can degrade.
package cache

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/altus4/altus/pkg/validate"
)

// Limits of the values callers may store.
const (
	// MaxKeyBytes is the longest key a caller may name (before the prefix).
	MaxKeyBytes = 512
	// MaxValueBytes is the largest value Set accepts (4 MiB).
	MaxValueBytes = 4 << 20
	// MaxTTL is the longest time to live Set accepts.
	MaxTTL = 24 * time.Hour
	// MaxDeleteKeys is how many keys one Delete may name.
	MaxDeleteKeys = 1000
	// DefaultTimeout bounds each Redis call when Options.Timeout is zero.
	DefaultTimeout = 500 * time.Millisecond
)

// rateLimitNamespace starts the Redis keys of rate-limit counters (after the
// prefix). Values may not use it, so that no Set can corrupt a counter.
const rateLimitNamespace = "rl:"

// Options configure a Store.
type Options struct {
	// Prefix is put before every key (e.g. "altus4:").
	Prefix string
	// Timeout bounds each Redis call; zero means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock rate-limit windows are computed from; nil means time.Now.
	Now func() time.Time
	// Log receives Redis up/down transitions; nil means slog.Default().
	Log *slog.Logger
}

// Store keeps values and rate-limit counters in Redis. It is safe for
// concurrent use.
type Store struct {
	src     Source
	prefix  string
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger

	// up is the outcome of the last health check. While it is false every
	// call fails at once instead of waiting for Redis.
	up atomic.Bool

	hits, misses                   atomic.Uint64
	versionedHits, versionedMisses atomic.Uint64
	// localHits counts versioned values served from process memory.
	localHits       atomic.Uint64
	allowed, denied atomic.Uint64

	// floors remembers the counters this process moved (full Redis key ->
	// floor), so that its own reads never see a value older than its own
	// bump while Redis's invalidation is still on its way.
	floors versionFloors
}

// Source hands out the Redis client. Client fails (at once) while there is
// none yet, e.g. while no Sentinel or Cluster node has answered.
type Source interface {
	Client() (rueidis.Client, error)
}

// fixed is the Source of a client that exists.
type fixed struct{ c rueidis.Client }

func (f fixed) Client() (rueidis.Client, error) { return f.c, nil }

// New returns a Store over client. Redis is presumed up until a health
// check (Check or Watch) says otherwise.
func New(client rueidis.Client, o Options) *Store { return NewFromSource(fixed{client}, o) }

// NewFromSource returns a Store over the client src hands out at each call,
// so that a Store can be made before its Sentinel or Cluster client can be.
// Redis is presumed up until a health check (Check or Watch) says otherwise.
func NewFromSource(src Source, o Options) *Store {
	s := &Store{src: src, prefix: o.Prefix, timeout: o.Timeout, now: o.Now, log: o.Log}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.up.Store(true)
	return s
}

// Get returns the value stored under key and whether there was one.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var v validate.Collector
	checkKey(&v, "key", key)
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	var value []byte
	found := true
	err := s.call(ctx, "get", func(ctx context.Context, c rueidis.Client) error {
		b, err := c.Do(ctx, c.B().Get().Key(s.prefix+key).Build()).AsBytes()
		if rueidis.IsRedisNil(err) {
			found = false
			return nil
		}
		value = b
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if found {
		s.hits.Add(1)
	} else {
		s.misses.Add(1)
	}
	return value, found, nil
}

// Set stores value under key for ttl (at most MaxTTL), replacing any value.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	var v validate.Collector
	checkKey(&v, "key", key)
	checkValue(&v, value, ttl)
	if err := v.Err(); err != nil {
		return err
	}
	ms := (ttl + time.Millisecond - 1) / time.Millisecond // round up: a positive ttl never becomes 0
	return s.call(ctx, "set", func(ctx context.Context, c rueidis.Client) error {
		// Idempotent, so retried (within the bound) on a broken connection,
		// as after a Redis restart, like reads are.
		cmd := c.B().Set().Key(s.prefix + key).Value(rueidis.BinaryString(value)).PxMilliseconds(int64(ms)).Build().ToRetryable()
		return c.Do(ctx, cmd).Error()
	})
}

// Delete removes the values stored under keys and reports how many existed.
func (s *Store) Delete(ctx context.Context, keys []string) (int, error) {
	var v validate.Collector
	switch {
	case len(keys) == 0:
		v.Add("keys", "REQUIRED", "Name at least one key to delete.")
	case len(keys) > MaxDeleteKeys:
		v.Add("keys", "TOO_MANY", "%d keys were named; delete at most %d at a time.", len(keys), MaxDeleteKeys)
	default:
		for _, k := range keys {
			if !checkKey(&v, "keys", k) {
				break
			}
		}
	}
	if err := v.Err(); err != nil {
		return 0, err
	}
	// One DEL per key, pipelined: multi-key DEL fails across cluster slots.
	// Idempotent, so retried on a broken connection (the count may then
	// miss keys the first attempt deleted).
	deleted := 0
	err := s.call(ctx, "delete", func(ctx context.Context, c rueidis.Client) error {
		cmds := make(rueidis.Commands, len(keys))
		for i, k := range keys {
			cmds[i] = c.B().Del().Key(s.prefix + k).Build().ToRetryable()
		}
		for _, r := range c.DoMulti(ctx, cmds...) {
			n, err := r.AsInt64()
			if err != nil {
				return err
			}
			deleted += int(n)
		}
		return nil
	})
	return deleted, err
}

// checkValue records the problems of a value and its time to live.
func checkValue(v *validate.Collector, value []byte, ttl time.Duration) {
	v.Check(len(value) <= MaxValueBytes, "value", "TOO_LONG",
		"The value is %d bytes; the largest value the cache stores is %d bytes (4 MiB).", len(value), MaxValueBytes)
	switch {
	case ttl <= 0:
		v.Add("ttl", "REQUIRED", "Give a time to live greater than zero (at most 24h).")
	case ttl > MaxTTL:
		v.Add("ttl", "OUT_OF_RANGE", "The time to live is %s; the longest the cache keeps a value is 24h.", ttl)
	}
}

// reservedNamespaces start keys that plain Get/Set/Delete may not name, so
// that no stored value can overwrite a counter or a versioned entry.
var reservedNamespaces = []string{rateLimitNamespace, versionNamespace, versionedNamespace}

// checkKey records the problems of a caller's key under field and reports
// whether it is valid.
func checkKey(v *validate.Collector, field, key string) bool {
	switch {
	case key == "":
		v.Add(field, "REQUIRED", "Give a key of 1 to %d bytes.", MaxKeyBytes)
	case len(key) > MaxKeyBytes:
		v.Add(field, "TOO_LONG", "The key is %d bytes; keys are at most %d bytes.", len(key), MaxKeyBytes)
	default:
		for _, ns := range reservedNamespaces {
			if strings.HasPrefix(key, ns) {
				v.Add(field, "RESERVED", "Keys starting with %q are reserved for the cache's own entries; choose another key.", ns)
				return false
			}
		}
		return true
	}
	return false
}

// call runs fn with the client and a context bounded by the Store's
// timeout. It fails at once with ErrUnavailable while the last health check
// found Redis down or there is no client yet, and classifies fn's error
// (see classify).
func (s *Store) call(ctx context.Context, op string, fn func(context.Context, rueidis.Client) error) error {
	if !s.up.Load() {
		return &unavailableError{op: op, cause: errDown}
	}
	c, err := s.src.Client()
	if err != nil {
		return &unavailableError{op: op, cause: err}
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.classify(ctx, op, fn(cctx, c))
}

// LocalHits reports how many versioned values were served from this
// process's memory (client-side cache) rather than from Redis.
func (s *Store) LocalHits() uint64 { return s.localHits.Load() }
