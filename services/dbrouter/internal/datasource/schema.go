package datasource

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/store"
)

// Schema returns the discovered schema of the user's source: from the cache
// when it holds this version (a stale entry is served while one background
// refresh runs), read now on a miss or when refresh is true.
func (s *Service) Schema(ctx context.Context, userID, id string, refresh bool) (schema.Schema, error) {
	src, err := s.get(ctx, userID, id)
	if err != nil {
		return schema.Schema{}, err
	}
	p, err := s.pool(src)
	if err != nil {
		return schema.Schema{}, err
	}
	return s.schemaOf(ctx, src, p, refresh)
}

// schemaOf returns the schema of src read through p, cached per (source,
// version). A read also reads the server's full-text facts (cached with
// the schema, so never per request), and a read whose fingerprint differs
// from the one cached before bumps the user's source version so cached
// search results built on the old structure are not served.
func (s *Service) schemaOf(ctx context.Context, src store.Source, p *pool.Pool, refresh bool) (schema.Schema, error) {
	database, userID, id := src.Database, src.UserID, src.ID
	load := func(ctx context.Context) (schema.Schema, error) {
		c, err := p.Acquire(ctx)
		if err != nil {
			return schema.Schema{}, s.poolError(err)
		}
		defer c.Release()
		sc, err := schema.Discover(ctx, c, database, s.clock())
		if err != nil {
			return schema.Schema{}, discoveryError(p, err)
		}
		if sc.Server, err = schema.ReadServer(ctx, c); err != nil {
			return schema.Schema{}, discoveryError(p, err)
		}
		for _, note := range sc.Server.Notes {
			s.log.InfoContext(ctx, "data source server: "+note, "source", id)
		}
		if prev, ok := s.schemas.Peek(id); ok && prev.Fingerprint != sc.Fingerprint {
			s.log.InfoContext(ctx, "data source schema changed", "source", id)
			s.bump(ctx, userID, id, "schema changed")
		}
		return sc, nil
	}
	return s.schemas.Get(ctx, schema.Key{ID: id, Version: src.Version}, refresh, load)
}

// discoveryError reports a server's refusal to describe its schema as a
// connection problem the user can act on (e.g. missing privileges).
func discoveryError(p *pool.Pool, err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		st := p.Settings()
		return &connectionFailed{
			public: fmt.Sprintf("Could not read the schema of %s on %s: MySQL error %d: %s.", st.Database, st.Addr(), me.Number, me.Message),
			err:    err,
		}
	}
	return fmt.Errorf("datasource: %w", err)
}
