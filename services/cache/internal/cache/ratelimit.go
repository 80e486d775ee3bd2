package cache

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/altus4/altus/pkg/validate"
)

// Bounds of a rate-limit window.
const (
	MinWindow = time.Second
	MaxWindow = 24 * time.Hour
)

// windowGrace keeps a counter a little past its window's end, so that a
// Peek at the very end of a window still finds it.
const windowGrace = time.Second

// Window is the state of one fixed rate-limit window.
type Window struct {
	// Allowed reports whether the request just counted may proceed (Allow only).
	Allowed bool
	// Limit is the number of requests allowed in the window.
	Limit int
	// Used is the number of requests counted in the window, denied ones included.
	Used int64
	// Remaining is how many more requests the window allows (never negative).
	Remaining int
	// Reset is when the window ends and a new one starts with no requests.
	Reset time.Time
}

// Allow counts one request of subject key against limit requests per
// window and reports whether it may proceed. Windows are fixed and aligned
// to the Unix epoch (an hourly window starts on the hour), so every replica
// of the service counts into the same window. A subject should always be
// limited with the same window length.
func (s *Store) Allow(ctx context.Context, key string, limit int, window time.Duration) (Window, error) {
	if err := checkLimit(key, limit, window); err != nil {
		return Window{}, err
	}
	rk, end := s.windowKey(key, window)
	var used int64
	err := s.call(ctx, "allow", func(ctx context.Context, c rueidis.Client) error {
		// INCR and PEXPIREAT NX travel together in one round trip; NX keeps
		// the first expiry, and any later request of the window sets it if a
		// crash ever left a counter without one. Both are retried (within
		// the bound) on a broken connection, as after a Redis restart: at
		// worst a request whose reply was lost counts twice, which errs on
		// the strict side, rather than failing the caller.
		res := c.DoMulti(ctx,
			c.B().Incr().Key(rk).Build().ToRetryable(),
			c.B().Pexpireat().Key(rk).MillisecondsTimestamp(end.Add(windowGrace).UnixMilli()).Nx().Build().ToRetryable(),
		)
		n, err := res[0].AsInt64()
		if err != nil {
			return err
		}
		if err := res[1].Error(); err != nil {
			return err
		}
		used = n
		return nil
	})
	if err != nil {
		return Window{}, err
	}
	w := newWindow(limit, used, end)
	w.Allowed = used <= int64(limit)
	if w.Allowed {
		s.allowed.Add(1)
	} else {
		s.denied.Add(1)
	}
	return w, nil
}

// Peek reports the state of subject key's current window without counting
// a request. Allowed reports whether one more request would be allowed.
func (s *Store) Peek(ctx context.Context, key string, limit int, window time.Duration) (Window, error) {
	if err := checkLimit(key, limit, window); err != nil {
		return Window{}, err
	}
	rk, end := s.windowKey(key, window)
	var used int64
	err := s.call(ctx, "peek", func(ctx context.Context, c rueidis.Client) error {
		n, err := c.Do(ctx, c.B().Get().Key(rk).Build()).AsInt64()
		if rueidis.IsRedisNil(err) {
			return nil
		}
		used = n
		return err
	})
	if err != nil {
		return Window{}, err
	}
	w := newWindow(limit, used, end)
	w.Allowed = used < int64(limit)
	return w, nil
}

// windowKey returns the Redis key of subject key's current window and the
// window's end: prefix + "rl:" + key + ":" + <window start, Unix seconds>.
func (s *Store) windowKey(key string, window time.Duration) (string, time.Time) {
	ms := window.Milliseconds()
	start := s.now().UnixMilli() / ms * ms
	return s.prefix + rateLimitNamespace + key + ":" + strconv.FormatInt(start/1000, 10),
		time.UnixMilli(start + ms)
}

func newWindow(limit int, used int64, end time.Time) Window {
	return Window{Limit: limit, Used: used, Remaining: int(max(int64(limit)-used, 0)), Reset: end}
}

func checkLimit(key string, limit int, window time.Duration) error {
	var v validate.Collector
	switch {
	case key == "":
		v.Add("key", "REQUIRED", "Give the subject of the limit (1 to %d bytes), e.g. \"apikey:<id>\".", MaxKeyBytes)
	case len(key) > MaxKeyBytes:
		v.Add("key", "TOO_LONG", "The key is %d bytes; keys are at most %d bytes.", len(key), MaxKeyBytes)
	}
	v.Check(limit > 0, "limit", "OUT_OF_RANGE", "The limit must be at least 1 request per window; got %d.", limit)
	switch {
	case window == 0:
		v.Add("window", "REQUIRED", "Give the window's length, between 1s and 24h.")
	case window < MinWindow || window > MaxWindow:
		v.Add("window", "OUT_OF_RANGE", "The window is %s; it must be between 1s and 24h.", window)
	}
	return v.Err()
}
