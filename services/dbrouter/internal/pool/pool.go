package pool

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/puddle/v2"
)

// ErrClosed means the pool was closed (its source was deleted or changed, or
// the process is stopping); Acquire fails with it at once.
var ErrClosed = errors.New("pool: closed")

// ErrAcquireTimeout means every connection of the pool stayed busy for the
// whole acquire deadline.
var ErrAcquireTimeout = errors.New("pool: no connection became free in time")

// AcquireTimeoutError is ErrAcquireTimeout with the pool's bound and the
// time waited.
type AcquireTimeoutError struct {
	MaxSize int32
	Waited  time.Duration
}

// Error describes the timeout for logs.
func (e *AcquireTimeoutError) Error() string {
	return fmt.Sprintf("pool: all %d connections stayed busy for %s", e.MaxSize, e.Waited.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrAcquireTimeout) true.
func (e *AcquireTimeoutError) Is(target error) bool { return target == ErrAcquireTimeout }

// PublicMessage says what happened in words for the caller.
func (e *AcquireTimeoutError) PublicMessage() string {
	return fmt.Sprintf("All %d connections to this database are busy; try again shortly.", e.MaxSize)
}

// Key identifies a pool: a source and the version of its settings. A pool
// whose key is older than the source's current version is stale.
type Key struct {
	ID      string
	Version int
}

// readOnlySession makes every transaction of a session read-only (each
// autocommitted statement included): writes fail with MySQL error 1792.
const readOnlySession = "SET SESSION TRANSACTION READ ONLY"

// resource is what the pool holds: a dedicated connection and when it was
// last given back (read and written only by whoever holds the resource).
type resource struct {
	conn     *sql.Conn
	lastUsed time.Time
}

// Pool is a bounded pool of connections to one source. It is safe for
// concurrent use.
type Pool struct {
	key      Key
	settings Settings
	opts     Options
	db       *sql.DB
	res      *puddle.Pool[*resource]

	// observeWait records how long a successful Acquire waited.
	observeWait func(time.Duration)

	closed      atomic.Bool
	closeCtx    context.Context
	closeCancel context.CancelFunc
	closeOnce   sync.Once
	done        chan struct{}
}

// New returns an empty pool for the source with settings s; connections are
// opened on demand. Close it when done.
func New(key Key, s Settings, o Options) (*Pool, error) {
	o = o.withDefaults()
	connector, err := mysql.NewConnector(o.driverConfig(s))
	if err != nil {
		return nil, fmt.Errorf("pool: source %s: configure driver: %w", key.ID, err)
	}
	db := sql.OpenDB(connector)
	// The sql.DB only dials: every connection it hands out is owned by the
	// puddle pool, and a connection given back to it is closed at once.
	db.SetMaxIdleConns(0)
	p := &Pool{key: key, settings: s, opts: o, db: db, observeWait: func(time.Duration) {}, done: make(chan struct{})}
	p.closeCtx, p.closeCancel = context.WithCancel(context.Background())
	p.res, err = puddle.NewPool(&puddle.Config[*resource]{
		Constructor: p.construct,
		Destructor:  func(r *resource) { _ = r.conn.Close() },
		MaxSize:     o.MaxSize,
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("pool: source %s: %w", key.ID, err)
	}
	if o.ReapInterval > 0 {
		go p.reapLoop(o.ReapInterval)
	}
	return p, nil
}

// Key returns the source and settings version the pool serves.
func (p *Pool) Key() Key { return p.key }

// Settings returns the settings the pool connects with.
func (p *Pool) Settings() Settings { return p.settings }

func (p *Pool) construct(ctx context.Context) (*resource, error) {
	// The driver's dial timeout covers TCP only; this bounds the MySQL
	// handshake and authentication too.
	ctx, cancel := context.WithTimeout(ctx, p.opts.ConnectTimeout)
	defer cancel()
	c, err := p.db.Conn(ctx)
	if err != nil {
		return nil, connectError(p.settings, p.opts.ConnectTimeout, err)
	}
	// Altus never writes the users' databases: every pooled session is
	// read-only, whatever the account's privileges.
	if _, err := c.ExecContext(ctx, readOnlySession); err != nil {
		_ = c.Close()
		return nil, connectError(p.settings, p.opts.ConnectTimeout, err)
	}
	return &resource{conn: c, lastUsed: p.opts.Now()}, nil
}

// Acquire returns a connection of the pool, opening one when none is idle
// and the pool is below its bound, and otherwise waiting at most
// AcquireTimeout. A connection idle for longer than HealthCheckAfter is
// pinged first and replaced if dead. Errors: ErrClosed,
// *AcquireTimeoutError (every connection stayed in use), *ConnectError (a
// new connection failed or did not complete within the deadline), or ctx's
// own error. Release the connection when done.
func (p *Pool) Acquire(ctx context.Context) (*Conn, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, p.opts.AcquireTimeout)
	defer cancel()
	// Waiters give up as soon as the pool closes.
	stop := context.AfterFunc(p.closeCtx, cancel)
	defer stop()
	for {
		res, err := p.res.Acquire(actx)
		if err != nil {
			return nil, p.acquireError(ctx, err, time.Since(start))
		}
		r := res.Value()
		if p.opts.Now().Sub(r.lastUsed) > p.opts.HealthCheckAfter {
			pctx, pcancel := context.WithTimeout(actx, p.opts.PingTimeout)
			err := r.conn.PingContext(pctx)
			pcancel()
			if err != nil {
				p.discard(res)
				continue
			}
		}
		p.observeWait(time.Since(start))
		return &Conn{res: res, pool: p}, nil
	}
}

func (p *Pool) acquireError(ctx context.Context, err error, waited time.Duration) error {
	switch {
	case p.closed.Load() || errors.Is(err, puddle.ErrClosedPool):
		return ErrClosed
	case ctx.Err() != nil:
		return fmt.Errorf("pool: source %s: acquire: %w", p.key.ID, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded):
		if p.Stat().Acquired < p.opts.MaxSize {
			// The pool had room: the wait was for a new connection that
			// the server did not complete in time, not for a busy pool.
			return connectError(p.settings, p.opts.AcquireTimeout, err)
		}
		return &AcquireTimeoutError{MaxSize: p.opts.MaxSize, Waited: waited}
	}
	return err
}

// discard takes res out of the pool and closes its connection now.
func (p *Pool) discard(res *puddle.Resource[*resource]) {
	r := res.Value()
	res.Hijack()
	_ = r.conn.Close()
}

// Ping acquires a connection, pings the server and gives the connection back.
func (p *Pool) Ping(ctx context.Context) error {
	c, err := p.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	if err := c.PingContext(ctx); err != nil {
		return connectError(p.settings, p.opts.ConnectTimeout, err)
	}
	return nil
}

// ReapIdle closes the idle connections unused for longer than IdleTimeout
// and reports how many it closed. The background reaper calls it; it is
// exported for tests and for callers that want to trim a pool now.
func (p *Pool) ReapIdle() int {
	now := p.opts.Now()
	n := 0
	for _, res := range p.res.AcquireAllIdle() {
		if now.Sub(res.Value().lastUsed) > p.opts.IdleTimeout {
			p.discard(res)
			n++
			continue
		}
		res.ReleaseUnused()
	}
	return n
}

func (p *Pool) reapLoop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.closeCtx.Done():
			return
		case <-t.C:
			p.ReapIdle()
		}
	}
}

// Close closes the pool without waiting: Acquire fails with ErrClosed at
// once (waiters included), idle connections are closed now and connections
// in use are closed as they are released. Done reports when every
// connection is closed.
func (p *Pool) Close() {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.closeCancel()
		go func() {
			p.res.Close()
			_ = p.db.Close()
			close(p.done)
		}()
	})
}

// Closed reports whether Close was called.
func (p *Pool) Closed() bool { return p.closed.Load() }

// Done is closed once a closed pool has closed all its connections.
func (p *Pool) Done() <-chan struct{} { return p.done }

// Stat is a snapshot of a pool's connections.
type Stat struct {
	// Acquired connections are in use.
	Acquired int32
	// Idle connections wait to be used.
	Idle int32
	// Total counts every open connection (including ones being opened).
	Total int32
	// MaxSize is the pool's bound.
	MaxSize int32
}

// Stat returns a snapshot of the pool's connections.
func (p *Pool) Stat() Stat {
	s := p.res.Stat()
	return Stat{Acquired: s.AcquiredResources(), Idle: s.IdleResources(), Total: s.TotalResources(), MaxSize: s.MaxResources()}
}

// Conn is a connection acquired from a Pool, used like a *sql.Conn. Close
// every Rows before calling Release, and call Release exactly once.
type Conn struct {
	res  *puddle.Resource[*resource]
	pool *Pool
}

// QueryContext runs a query that returns rows; args are placeholders' values.
func (c *Conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.res.Value().conn.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query expected to return at most one row.
func (c *Conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.res.Value().conn.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement that returns no rows.
func (c *Conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.res.Value().conn.ExecContext(ctx, query, args...)
}

// PingContext checks that the server still answers on this connection.
func (c *Conn) PingContext(ctx context.Context) error {
	return c.res.Value().conn.PingContext(ctx)
}

// SQL returns the underlying *sql.Conn for uses the methods above do not
// cover (e.g. Raw). Do not Close it: Release the Conn.
func (c *Conn) SQL() *sql.Conn { return c.res.Value().conn }

// errInvalid signals a driver connection that is known to be broken.
var errInvalid = errors.New("invalid connection")

// Release gives the connection back to the pool, or closes it when the
// driver knows it is broken (e.g. a query was cancelled mid-flight).
func (c *Conn) Release() {
	r := c.res.Value()
	err := r.conn.Raw(func(dc any) error {
		if v, ok := dc.(driver.Validator); ok && !v.IsValid() {
			return errInvalid
		}
		return nil
	})
	if err != nil {
		c.pool.discard(c.res)
		return
	}
	r.lastUsed = c.pool.opts.Now()
	c.res.Release()
}

// Settings returns the settings of the server this connection is to (the
// primary's or a read replica's).
func (c *Conn) Settings() Settings { return c.pool.settings }

// Discard closes the connection instead of giving it back (it is known to
// be broken). Call it instead of Release.
func (c *Conn) Discard() { c.pool.discard(c.res) }

// DiscardIdle closes every idle connection now (the server went away, so
// they are all dead) and reports how many it closed.
func (p *Pool) DiscardIdle() int {
	idle := p.res.AcquireAllIdle()
	for _, res := range idle {
		p.discard(res)
	}
	return len(idle)
}
