package datasource

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/store"
)

// DefaultDescribeTimeout bounds the description of one source.
const DefaultDescribeTimeout = 2 * time.Second

// Description is one source as the search service needs it: its schema
// (with the server's full-text facts and the fingerprint), or why it could
// not be described.
type Description struct {
	Connection
	Schema schema.Schema
	// Err is non-nil when the source could not be described (it could not
	// be reached in time, or refused to describe itself): ErrConnectionFailed
	// or ErrBusy, with a public message. Schema is then empty.
	Err error
}

// Describe describes the user's sources named by ids (in that order, each
// once), or all of them (newest first) when ids is empty. An id that is not
// one of the user's live sources fails the whole call with ErrNotFound. The
// sources are described concurrently, each within DescribeTimeout; one that
// cannot be described is reported in its Err, not as a failure of the call.
func (s *Service) Describe(ctx context.Context, userID string, ids []string) ([]Description, error) {
	if userID == "" {
		return nil, ErrNotFound
	}
	all, err := s.store.List(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("datasource: %w", err)
	}
	srcs := all
	if len(ids) > 0 {
		byID := make(map[string]store.Source, len(all))
		for _, src := range all {
			byID[src.ID] = src
		}
		srcs = make([]store.Source, 0, len(ids))
		seen := map[string]bool{}
		for _, id := range ids {
			src, ok := byID[id]
			if !ok {
				return nil, ErrNotFound
			}
			if !seen[id] {
				seen[id] = true
				srcs = append(srcs, src)
			}
		}
	}
	out := make([]Description, len(srcs))
	done := make(chan struct{}, len(srcs))
	for i, src := range srcs {
		go func() {
			defer func() { done <- struct{}{} }()
			out[i] = s.describe(ctx, src)
		}()
	}
	for range srcs {
		<-done
	}
	return out, nil
}

func (s *Service) describe(ctx context.Context, src store.Source) Description {
	d := Description{Connection: connectionOf(src)}
	dctx, cancel := context.WithTimeout(ctx, s.describeTimeout)
	defer cancel()
	sc, err := func() (schema.Schema, error) {
		p, err := s.pool(src)
		if err != nil {
			return schema.Schema{}, err
		}
		return s.schemaOf(dctx, src, p, false)
	}()
	switch {
	case err == nil:
		d.Schema = sc
	case errors.Is(err, ErrConnectionFailed), errors.Is(err, ErrBusy):
		d.Err = err
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		d.Err = &connectionFailed{
			public: fmt.Sprintf("%s:%d did not answer within %s.", src.Host, src.Port, s.describeTimeout),
			err:    err,
		}
	default:
		s.log.WarnContext(ctx, "could not describe a data source", "source", src.ID, "error", err)
		d.Err = &connectionFailed{public: "The database could not be described.", err: err}
	}
	return d
}

// OpenSearch returns the user's source with its pool and its schema (from
// the cache, read now on a miss), reading the source's row once: what a
// search on the source needs.
func (s *Service) OpenSearch(ctx context.Context, userID, id string) (Source, schema.Schema, error) {
	src, err := s.getForSearch(ctx, userID, id)
	if err != nil {
		return Source{}, schema.Schema{}, err
	}
	out, err := s.open(src)
	if err != nil {
		return Source{}, schema.Schema{}, err
	}
	// Schema discovery reads the primary.
	sc, err := s.schemaOf(ctx, src, out.Pool, false)
	if err != nil {
		return Source{}, schema.Schema{}, err
	}
	return out, sc, nil
}

// PoolError turns a failure to acquire a connection of a source's pool into
// a domain error (ErrConnectionFailed or ErrBusy, with a public message).
func (s *Service) PoolError(err error) error { return PoolError(err) }
