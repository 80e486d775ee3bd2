package pool

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/altus4/altus/pkg/metadb"
)

// Replica states, as reported by ReplicaHealth.State.
const (
	ReplicaUnknown = "unknown"
	ReplicaHealthy = "healthy"
	ReplicaEjected = "ejected"
)

// Reasons a replica is ejected (ReplicaHealth.Reason and the reason label
// of the ejection counter).
const (
	// ReasonConnection: the replica could not be reached or a statement
	// on it failed with a connection error.
	ReasonConnection = "connection"
	// ReasonLag: the replica reports more lag than the maximum.
	ReasonLag = "lag"
	// ReasonNotReplicating: the replica reports no running replication
	// (no replication configured, or Seconds_Behind_Master is NULL).
	ReasonNotReplicating = "not_replicating"
	// ReasonPrivileges: the source's user may not read the replication
	// status (MariaDB SLAVE MONITOR / REPLICA MONITOR, MySQL REPLICATION
	// CLIENT), so the lag is unknown.
	ReasonPrivileges = "privileges"
)

// Defaults of ReplicaOptions.
const (
	DefaultReplicaCheckInterval = 2 * time.Second
	DefaultReplicaMaxLag        = 10 * time.Second
)

// ReplicaOptions configure the health checks of read replicas.
type ReplicaOptions struct {
	// CheckInterval is how often each replica is checked.
	CheckInterval time.Duration
	// MaxLag: a replica reporting more lag is ejected.
	MaxLag time.Duration
}

func (o ReplicaOptions) withDefaults() ReplicaOptions {
	if o.CheckInterval <= 0 {
		o.CheckInterval = DefaultReplicaCheckInterval
	}
	if o.MaxLag <= 0 {
		o.MaxLag = DefaultReplicaMaxLag
	}
	return o
}

// ReplicaAddr is where a read replica listens.
type ReplicaAddr struct {
	Host string
	Port int
}

// String returns host:port.
func (a ReplicaAddr) String() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// ReplicaHealth is the last health check of one replica.
type ReplicaHealth struct {
	Addr ReplicaAddr
	// State is ReplicaUnknown (not checked yet), ReplicaHealthy or ReplicaEjected.
	State string
	// Reason is why it is ejected (ReasonConnection, ReasonLag, ...).
	Reason string
	// Lag is what the replica reported; -1 when unknown.
	Lag time.Duration
	// CheckedAt is when the state was last set; zero before the first check.
	CheckedAt time.Time
}

// Replica is one read replica of a source and its own pool.
type Replica struct {
	addr ReplicaAddr
	pool *Pool

	mu     sync.Mutex
	health ReplicaHealth
}

// Addr returns where the replica listens.
func (r *Replica) Addr() ReplicaAddr { return r.addr }

// Pool returns the replica's pool (same credentials, read-only sessions).
func (r *Replica) Pool() *Pool { return r.pool }

// Health returns the replica's last health check.
func (r *Replica) Health() ReplicaHealth {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.health
}

func (r *Replica) healthy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.health.State == ReplicaHealthy
}

// ReplicaSet is the read replicas of one source version, checked in the
// background. It is safe for concurrent use.
type ReplicaSet struct {
	key      Key
	opts     ReplicaOptions
	replicas []*Replica
	next     atomic.Uint32
	// onEject is called on every transition to ejected, with the reason.
	onEject func(addr ReplicaAddr, reason string)

	stop     context.CancelFunc
	stopOnce sync.Once
	loopDone chan struct{}
}

// newReplicaSet opens a pool per replica (connections on demand) and
// starts checking them at once and then every CheckInterval.
func newReplicaSet(key Key, primary Settings, addrs []ReplicaAddr, po Options, ro ReplicaOptions, onEject func(ReplicaAddr, string), observeWait func(time.Duration)) (*ReplicaSet, error) {
	rs := &ReplicaSet{key: key, opts: ro.withDefaults(), onEject: onEject, loopDone: make(chan struct{})}
	for _, a := range addrs {
		s := primary
		s.Host, s.Port = a.Host, a.Port
		p, err := New(key, s, po)
		if err != nil {
			rs.closePools()
			return nil, err
		}
		p.observeWait = observeWait
		rs.replicas = append(rs.replicas, &Replica{addr: a, pool: p, health: ReplicaHealth{Addr: a, State: ReplicaUnknown, Lag: -1}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	rs.stop = cancel
	go rs.loop(ctx)
	return rs, nil
}

// Replicas returns the replicas in their configured order.
func (rs *ReplicaSet) Replicas() []*Replica { return rs.replicas }

// Health returns the last check of every replica, in order.
func (rs *ReplicaSet) Health() []ReplicaHealth {
	out := make([]ReplicaHealth, len(rs.replicas))
	for i, r := range rs.replicas {
		out[i] = r.Health()
	}
	return out
}

// Pick returns the healthy replica with the fewest connections in use
// (ties taken in turn, starting after the last pick), or nil when none is
// healthy. Least-loaded rather than plain round-robin: full-text
// statements differ in cost by orders of magnitude, so a replica that is
// slower or busy with long statements holds more connections and gets
// fewer new ones.
func (rs *ReplicaSet) Pick() *Replica {
	if rs == nil || len(rs.replicas) == 0 {
		return nil
	}
	n := len(rs.replicas)
	start := int(rs.next.Add(1)) % n
	var best *Replica
	var bestLoad int32
	for i := range n {
		r := rs.replicas[(start+i)%n]
		if !r.healthy() || r.pool.Closed() {
			continue
		}
		load := r.pool.Stat().Acquired
		if best == nil || load < bestLoad {
			best, bestLoad = r, load
		}
	}
	return best
}

// Fail ejects r at once with reason (a statement on it failed with a
// connection error); the next health check re-admits it when it answers.
func (rs *ReplicaSet) Fail(r *Replica, reason string) {
	if reason == ReasonConnection {
		r.pool.DiscardIdle()
	}
	rs.set(r, ReplicaHealth{Addr: r.addr, State: ReplicaEjected, Reason: reason, Lag: -1, CheckedAt: time.Now()})
}

func (rs *ReplicaSet) set(r *Replica, h ReplicaHealth) {
	r.mu.Lock()
	was := r.health
	r.health = h
	r.mu.Unlock()
	if h.State == ReplicaEjected && (was.State != ReplicaEjected || was.Reason != h.Reason) && rs.onEject != nil {
		rs.onEject(r.addr, h.Reason)
	}
}

func (rs *ReplicaSet) loop(ctx context.Context) {
	defer close(rs.loopDone)
	t := time.NewTicker(rs.opts.CheckInterval)
	defer t.Stop()
	for {
		rs.CheckNow(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckNow checks every replica now, concurrently, each bounded by the
// check interval (at least 1 s).
func (rs *ReplicaSet) CheckNow(ctx context.Context) {
	var wg sync.WaitGroup
	for _, r := range rs.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, max(rs.opts.CheckInterval, time.Second))
			defer cancel()
			h, ok := rs.check(cctx, r)
			if !ok || ctx.Err() != nil {
				return
			}
			rs.set(r, h)
		}()
	}
	wg.Wait()
}

// check reads the replication status of r through its pool. It reports
// false, and r keeps its state, when every connection of r's pool stayed
// busy: a replica saturated by reads is not a dead one.
func (rs *ReplicaSet) check(ctx context.Context, r *Replica) (ReplicaHealth, bool) {
	h := ReplicaHealth{Addr: r.addr, State: ReplicaEjected, Lag: -1, CheckedAt: time.Now()}
	c, err := r.pool.Acquire(ctx)
	if err != nil {
		if st := r.pool.Stat(); errors.Is(err, ErrAcquireTimeout) || st.Acquired >= st.MaxSize {
			return h, false
		}
		h.Reason = ReasonConnection
		return h, true
	}
	lag, err := metadb.ReplicationLag(ctx, c)
	if err != nil && IsConnectionError(err) {
		// The server went away: its pooled connections are all dead.
		c.Discard()
		r.pool.DiscardIdle()
		h.Reason = ReasonConnection
		return h, true
	}
	c.Release()
	var me *mysql.MySQLError
	switch {
	case errors.As(err, &me) && (me.Number == 1227 || me.Number == 1142 || me.Number == 1045):
		h.Reason = ReasonPrivileges
	case err != nil:
		h.Reason = ReasonConnection
	case lag < 0:
		h.Reason = ReasonNotReplicating
	case lag > rs.opts.MaxLag:
		h.Reason, h.Lag = ReasonLag, lag
	default:
		h.State, h.Lag = ReplicaHealthy, lag
	}
	return h, true
}

// close stops the checks and closes the replicas' pools without waiting.
func (rs *ReplicaSet) close() {
	rs.stopOnce.Do(func() {
		rs.stop()
		rs.closePools()
	})
}

func (rs *ReplicaSet) closePools() {
	for _, r := range rs.replicas {
		r.pool.Close()
	}
}

// MySQL errors that mean the connection or the server went away.
var connectionErrorNumbers = map[uint16]bool{
	1053: true,                                     // server shutdown in progress
	1077: true,                                     // normal shutdown
	1152: true,                                     // aborted connection
	1158: true, 1159: true, 1160: true, 1161: true, // network read/write errors
	1927: true, // connection was killed
	2006: true, // server has gone away
	2013: true, // lost connection during query
}

// IsConnectionError reports whether err means the server could not be
// reached or the connection broke (as opposed to the server refusing or
// interrupting a statement): a statement failing so on a replica is run
// again on the primary.
func IsConnectionError(err error) bool {
	if err == nil {
		return false
	}
	var ce *ConnectError
	var me *mysql.MySQLError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.Is(err, ErrClosed), errors.Is(err, ErrAcquireTimeout):
		return true
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &me):
		return connectionErrorNumbers[me.Number]
	case errors.As(err, &ne):
		return true
	}
	return false
}

// Version returns the source version the replicas serve.
func (rs *ReplicaSet) Version() int { return rs.key.Version }
