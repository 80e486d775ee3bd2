package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/rueidis"
)

// ErrUnavailable means Redis cannot be reached or cannot serve now. Callers
// should degrade (run uncached, limit locally) and try again later.
var ErrUnavailable = errors.New("cache: Redis is unavailable")

// errDown is the cause of ErrUnavailable while the health check finds Redis down.
var errDown = errors.New("the last health check found Redis down")

// unavailableError is ErrUnavailable with the operation and the cause, kept
// for the logs; callers see only PublicMessage.
type unavailableError struct {
	op    string
	cause error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("cache: %s: Redis is unavailable: %v", e.op, e.cause)
}

func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }

// PublicMessage is what the caller is told: no host or driver internals.
func (e *unavailableError) PublicMessage() string {
	return "The cache is unavailable because Redis cannot be reached; continue without the cache and retry later."
}

// unavailableReplies are the Redis error replies that mean the server cannot
// serve now (starting, busy, failing over, out of memory, refusing us), as
// opposed to a command that is wrong.
var unavailableReplies = []string{
	"LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY",
	"NOAUTH", "WRONGPASS", "NOPERM", "OOM", "ERR max number of clients",
}

// classify turns an error of a Redis call into the Store's vocabulary: nil
// stays nil; when the caller's own context ended, that error; a reply that
// means Redis cannot serve, a network error or the Store's own timeout,
// ErrUnavailable; any other reply (a bug, e.g. WRONGTYPE) stays as it is,
// to be masked as an internal error.
func (s *Store) classify(caller context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := caller.Err(); cerr != nil {
		return fmt.Errorf("cache: %s: %w", op, cerr)
	}
	if re, ok := rueidis.IsRedisErr(err); ok {
		msg := re.Error()
		for _, p := range unavailableReplies {
			if strings.HasPrefix(msg, p) {
				return &unavailableError{op: op, cause: err}
			}
		}
		return fmt.Errorf("cache: %s: %w", op, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %s: %w", s.timeout, err)
	}
	return &unavailableError{op: op, cause: err}
}
