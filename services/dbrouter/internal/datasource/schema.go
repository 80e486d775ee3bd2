package datasource

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
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
	database := src.Database
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
		return sc, nil
	}
	sc, err := s.schemas.Get(ctx, schema.Key{ID: src.ID, Version: src.Version}, refresh, load)
	if err != nil {
		return schema.Schema{}, err
	}
	return sc, nil
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
