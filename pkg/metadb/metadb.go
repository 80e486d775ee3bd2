// Package metadb splits the metadata database's reads from its writes: the
// primary takes every write, every migration and every read that must see
// the latest state (authentication among them); a Reader sends the reads
// that tolerate a few seconds of staleness (reports, history) to a healthy
// replica, round-robin, and to the primary when no replica is healthy.
//
// Replicas are checked in the background: a ping and the replication lag
// (Seconds_Behind_Master of SHOW REPLICA STATUS, else SHOW SLAVE STATUS).
// A replica that does not answer, is not replicating (no status or a NULL
// lag) or lags more than the maximum stops serving reads until a later
// check finds it healthy again. A read that fails on a replica with a
// connection error is retried once on the primary, and the replica is
// taken out of rotation at once.
package metadb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/altus4/altus/pkg/config"
)

// CheckTimeout bounds one replica check (ping and status).
const CheckTimeout = 2 * time.Second

// maxReplicaConns bounds each replica's pool.
const maxReplicaConns = 10

// Querier is what a read needs: *sql.DB and *Reader both are one.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Reader answers read-only queries from a healthy replica, or from the primary.
type Reader struct {
	primary  *sql.DB
	replicas []*replica
	next     atomic.Uint64
	maxLag   time.Duration
	interval time.Duration
	log      *slog.Logger

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// replica is one read server.
type replica struct {
	addr    string
	db      *sql.DB
	healthy atomic.Bool
	// lag is the last lag seen, -1 when not replicating or not answering.
	lag atomic.Int64
	// failovers counts reads retried on the primary.
	failovers atomic.Uint64
}

// Metric names (see Reader.Collect).
const (
	MetricReplicaHealthy = "altus4_metadb_replica_healthy"
	MetricReplicaLag     = "altus4_metadb_replica_lag_seconds"
	MetricReadFailovers  = "altus4_metadb_read_failovers_total"
)

var (
	descHealthy   = prometheus.NewDesc(MetricReplicaHealthy, "Whether a metadata replica serves reads (1) or not (0), at its last check.", []string{"replica"}, nil)
	descLag       = prometheus.NewDesc(MetricReplicaLag, "A metadata replica's replication lag at its last check; -1 when not replicating or not answering.", []string{"replica"}, nil)
	descFailovers = prometheus.NewDesc(MetricReadFailovers, "Reads retried on the primary after a connection error on a metadata replica.", []string{"replica"}, nil)
)

// Describe implements prometheus.Collector.
func (r *Reader) Describe(ch chan<- *prometheus.Desc) {
	ch <- descHealthy
	ch <- descLag
	ch <- descFailovers
}

// Collect implements prometheus.Collector: each replica's health, lag and failovers.
func (r *Reader) Collect(ch chan<- prometheus.Metric) {
	for _, rep := range r.replicas {
		h := 0.0
		if rep.healthy.Load() {
			h = 1
		}
		lag := time.Duration(rep.lag.Load()).Seconds()
		if lag < 0 {
			lag = -1
		}
		ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, h, rep.addr)
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, lag, rep.addr)
		ch <- prometheus.MustNewConstMetric(descFailovers, prometheus.CounterValue, float64(rep.failovers.Load()), rep.addr)
	}
}

// Status is a replica's state at its last check.
type Status struct {
	// Addr is the replica's host:port.
	Addr string
	// Healthy says whether it serves reads.
	Healthy bool
	// Lag is the last replication lag seen; -1 when not replicating or not answering.
	Lag time.Duration
}

// New returns a Reader over primary and cfg's replicas (DB_READ_HOST_n),
// checks each replica once before returning (so that a healthy one
// serves from the first read), and checks them again every
// cfg.ReadCheckInterval until Close. With no replicas every read goes to
// the primary. log receives replica state changes; nil discards them.
func New(ctx context.Context, cfg config.MySQL, primary *sql.DB, log *slog.Logger) (*Reader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reader{
		primary:  primary,
		maxLag:   cfg.ReadMaxLag,
		interval: cfg.ReadCheckInterval,
		log:      log,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, addr := range cfg.ReadAddrs() {
		db, err := openReplica(cfg.DSNAt(addr))
		if err != nil {
			r.closeReplicas()
			return nil, fmt.Errorf("metadb: replica %s: %w", addr, err)
		}
		rep := &replica{addr: addr, db: db}
		rep.lag.Store(-1)
		r.replicas = append(r.replicas, rep)
	}
	if len(r.replicas) == 0 {
		close(r.done)
		return r, nil
	}
	r.Check(ctx)
	go r.loop()
	return r, nil
}

// openReplica opens a replica's pool without waiting for it: a replica
// that is down at start is only out of rotation until a check finds it up.
func openReplica(dsn string) (*sql.DB, error) {
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	c.Timeout = CheckTimeout
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(maxReplicaConns)
	db.SetMaxIdleConns(maxReplicaConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(30 * time.Minute)
	return db, nil
}

// Primary returns the primary: for writes and reads that must be current.
func (r *Reader) Primary() *sql.DB { return r.primary }

// Close stops the checks and closes the replicas' pools (not the primary's).
func (r *Reader) Close() error {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
	return r.closeReplicas()
}

func (r *Reader) closeReplicas() error {
	var errs []error
	for _, rep := range r.replicas {
		errs = append(errs, rep.db.Close())
	}
	return errors.Join(errs...)
}

func (r *Reader) loop() {
	defer close(r.done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.Check(context.Background())
		}
	}
}

// Check checks every replica now (concurrently) and updates which serve reads.
func (r *Reader) Check(ctx context.Context) {
	var wg sync.WaitGroup
	for _, rep := range r.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.check(ctx, rep)
		}()
	}
	wg.Wait()
}

func (r *Reader) check(ctx context.Context, rep *replica) {
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	err := rep.db.PingContext(ctx)
	lag := time.Duration(-1)
	if err == nil {
		lag, err = ReplicationLag(ctx, rep.db)
	}
	healthy := err == nil && lag >= 0 && lag <= r.maxLag
	if err != nil {
		lag = -1
	}
	rep.lag.Store(int64(lag))
	was := rep.healthy.Swap(healthy)
	switch {
	case was && !healthy:
		r.log.Warn("metadata replica out of rotation", "replica", rep.addr, "lag", lag.String(), "max_lag", r.maxLag.String(), "error", errString(err))
	case !was && healthy:
		r.log.Info("metadata replica serving reads", "replica", rep.addr, "lag", lag.String())
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Statuses returns every replica's state at its last check, in variable order.
func (r *Reader) Statuses() []Status {
	out := make([]Status, len(r.replicas))
	for i, rep := range r.replicas {
		out[i] = Status{Addr: rep.addr, Healthy: rep.healthy.Load(), Lag: time.Duration(rep.lag.Load())}
	}
	return out
}

// pick returns the next healthy replica round-robin, or nil.
func (r *Reader) pick() *replica {
	n := len(r.replicas)
	if n == 0 {
		return nil
	}
	start := r.next.Add(1)
	for i := range n {
		rep := r.replicas[(start+uint64(i))%uint64(n)]
		if rep.healthy.Load() {
			return rep
		}
	}
	return nil
}

// QueryContext runs a read-only query on a healthy replica (the primary
// when none is), retrying once on the primary after a connection error.
func (r *Reader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rep := r.pick()
	if rep == nil {
		return r.primary.QueryContext(ctx, query, args...)
	}
	rows, err := rep.db.QueryContext(ctx, query, args...)
	if err != nil && r.failover(ctx, rep, err) {
		return r.primary.QueryContext(ctx, query, args...)
	}
	return rows, err
}

// QueryRowContext is QueryContext for one row.
func (r *Reader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	rep := r.pick()
	if rep == nil {
		return r.primary.QueryRowContext(ctx, query, args...)
	}
	row := rep.db.QueryRowContext(ctx, query, args...)
	if err := row.Err(); err != nil && r.failover(ctx, rep, err) {
		return r.primary.QueryRowContext(ctx, query, args...)
	}
	return row
}

// failover reports whether err is a connection failure worth retrying on
// the primary, and if so takes rep out of rotation until its next good check.
func (r *Reader) failover(ctx context.Context, rep *replica, err error) bool {
	if ctx.Err() != nil || !IsConnError(err) {
		return false
	}
	rep.failovers.Add(1)
	if rep.healthy.Swap(false) {
		r.log.Warn("metadata replica out of rotation", "replica", rep.addr, "error", err.Error())
	}
	return true
}

// IsConnError reports whether err means the server could not be reached or
// the connection broke (rather than a failing statement).
func IsConnError(err error) bool {
	var ne net.Error
	var me *mysql.MySQLError
	switch {
	case err == nil:
		return false
	case errors.As(err, &me):
		// The server answered; only its "going away" answers are connection failures.
		return me.Number == 1053 || me.Number == 1040 || me.Number == 1927
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.As(err, &ne):
		return true
	}
	return false
}

// statusQuerier is what ReplicationLag needs of a connection or a pool.
type statusQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ReplicationLag asks a server how far behind its primary it is: SHOW
// REPLICA STATUS (MariaDB 10.5+, MySQL 8.0.22+), else SHOW SLAVE STATUS;
// the column Seconds_Behind_Master (MariaDB, older MySQL) or
// Seconds_Behind_Source (MySQL 8). -1 means not replicating: no status
// row, or NULL. It serves the metadata Reader and dbrouter's replicas of
// users' databases alike.
func ReplicationLag(ctx context.Context, q statusQuerier) (time.Duration, error) {
	rows, err := q.QueryContext(ctx, "SHOW REPLICA STATUS")
	var me *mysql.MySQLError
	if err != nil && errors.As(err, &me) && me.Number == 1064 {
		rows, err = q.QueryContext(ctx, "SHOW SLAVE STATUS")
	}
	if err != nil {
		return -1, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return -1, err
	}
	idx := -1
	for i, name := range cols {
		if name == "Seconds_Behind_Master" || name == "Seconds_Behind_Source" {
			idx = i
		}
	}
	if idx < 0 {
		return -1, errors.New("metadb: replication status without a lag column")
	}
	if !rows.Next() {
		return -1, rows.Err()
	}
	vals := make([]sql.NullInt64, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		if i == idx {
			dest[i] = &vals[i]
		} else {
			dest[i] = new(sql.RawBytes)
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return -1, err
	}
	if !vals[idx].Valid {
		return -1, nil
	}
	return time.Duration(vals[idx].Int64) * time.Second, nil
}
