package pool

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names, shared with dashboards and the scaling guide.
const (
	MetricActive = "altus4_database_connections_active"
	MetricIdle   = "altus4_database_connections_idle"
	MetricWait   = "altus4_database_pool_wait_seconds"
	// MetricReplicaLag is the lag each read replica last reported.
	MetricReplicaLag = "altus4_replica_lag_seconds"
	// MetricReplicaEjections counts replicas taken out of the read rotation.
	MetricReplicaEjections = "altus4_replica_ejections_total"
)

// Manager holds one pool per source, keyed by source id and settings
// version. It is safe for concurrent use.
//
// Replicas: every replica keeps its own pools. A source changed or deleted
// through one replica gets a new version (or a deleted_at) in the metadata
// database; the other replicas notice on their next request for it (the row
// they read carries the new version, so Get replaces the stale pool) or on
// their periodic sweep (Stale lists pools whose source moved on, and Drop
// closes them), so every replica converges within one sweep interval.
type Manager struct {
	opts        Options
	replicaOpts ReplicaOptions

	mu      sync.Mutex
	pools   map[string]*Pool
	sets    map[string]*ReplicaSet
	closing []*Pool
	closed  bool

	active    *prometheus.Desc
	idle      *prometheus.Desc
	lag       *prometheus.Desc
	wait      *prometheus.HistogramVec
	ejections *prometheus.CounterVec
}

// NewManager returns a Manager whose pools use o (and whose read replicas
// are checked with the default ReplicaOptions; see SetReplicaOptions).
func NewManager(o Options) *Manager {
	return &Manager{
		opts:        o.withDefaults(),
		replicaOpts: ReplicaOptions{}.withDefaults(),
		pools:       map[string]*Pool{},
		sets:        map[string]*ReplicaSet{},
		active:      prometheus.NewDesc(MetricActive, "Connections to a user's database currently in use, per data source (primary and read replicas).", []string{"database_id"}, nil),
		idle:        prometheus.NewDesc(MetricIdle, "Open, unused connections to a user's database, per data source (primary and read replicas).", []string{"database_id"}, nil),
		lag:         prometheus.NewDesc(MetricReplicaLag, "Replication lag a read replica last reported, per data source and replica (host:port).", []string{"database_id", "replica"}, nil),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricReplicaEjections,
			Help: "Read replicas taken out of the read rotation, per data source, replica (host:port) and reason (connection, lag, not_replicating, privileges).",
		}, []string{"database_id", "replica", "reason"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricWait,
			Help:    "Time spent waiting for a connection to a user's database, per data source.",
			Buckets: []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5},
		}, []string{"database_id"}),
	}
}

// Options returns the options every pool of the manager uses.
func (m *Manager) Options() Options { return m.opts }

// Register registers the pool metrics on reg.
func (m *Manager) Register(reg prometheus.Registerer) error {
	if err := reg.Register(m); err != nil {
		return fmt.Errorf("pool: register metrics: %w", err)
	}
	if err := reg.Register(m.wait); err != nil {
		return fmt.Errorf("pool: register metrics: %w", err)
	}
	if err := reg.Register(m.ejections); err != nil {
		return fmt.Errorf("pool: register metrics: %w", err)
	}
	return nil
}

// SetReplicaOptions sets how read replicas opened from now on are checked.
func (m *Manager) SetReplicaOptions(o ReplicaOptions) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.replicaOpts = o.withDefaults()
}

// Replicas returns the read replicas of key.ID, opening them (a pool per
// replica, with primary's database and credentials) and starting their
// health checks when there are none for this version yet. No addrs means
// no replicas: nil. Replicas of an older version are closed; they also
// close with the source's pool (Drop, DropStale, a newer Get).
func (m *Manager) Replicas(key Key, primary Settings, addrs []ReplicaAddr) (*ReplicaSet, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrManagerClosed
	}
	if rs, ok := m.sets[key.ID]; ok {
		if rs.key.Version >= key.Version {
			return rs, nil
		}
		rs.close()
		delete(m.sets, key.ID)
	}
	obs := m.wait.WithLabelValues(key.ID)
	id := key.ID
	rs, err := newReplicaSet(key, primary, addrs, m.opts, m.replicaOpts,
		func(a ReplicaAddr, reason string) { m.ejections.WithLabelValues(id, a.String(), reason).Inc() },
		func(d time.Duration) { obs.Observe(d.Seconds()) })
	if err != nil {
		return nil, err
	}
	m.sets[key.ID] = rs
	return rs, nil
}

// LookupReplicas returns the open read replicas of a source, if any.
func (m *Manager) LookupReplicas(id string) (*ReplicaSet, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rs, ok := m.sets[id]
	return rs, ok
}

// ErrManagerClosed means the process is stopping.
var ErrManagerClosed = errors.New("pool: manager closed")

// Get returns the pool of key.ID, opening it with s when there is none or
// the one there serves an older version (which is then closed). A pool of a
// newer version than key is returned as it is: the caller read the source
// just before it changed.
func (m *Manager) Get(key Key, s Settings) (*Pool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrManagerClosed
	}
	if p, ok := m.pools[key.ID]; ok {
		if p.key.Version >= key.Version {
			return p, nil
		}
		m.closeLocked(p)
	}
	p, err := New(key, s, m.opts)
	if err != nil {
		return nil, err
	}
	obs := m.wait.WithLabelValues(key.ID)
	p.observeWait = func(d time.Duration) { obs.Observe(d.Seconds()) }
	m.pools[key.ID] = p
	return p, nil
}

// Lookup returns the open pool of a source, if any.
func (m *Manager) Lookup(id string) (*Pool, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pools[id]
	return p, ok
}

// Keys lists the keys of the open pools, sorted by id.
func (m *Manager) Keys() []Key {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]Key, 0, len(m.pools))
	for _, p := range m.pools {
		keys = append(keys, p.key)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ID < keys[j].ID })
	return keys
}

// Drop closes the pool of a source (without waiting for connections in
// use) and drops its metric series. It reports whether there was one.
func (m *Manager) Drop(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pools[id]
	if ok {
		m.closeLocked(p)
	}
	m.wait.DeleteLabelValues(id)
	m.ejections.DeletePartialMatch(prometheus.Labels{"database_id": id})
	return ok
}

// DropStale closes the pools whose key is not current: current maps each
// live source id to its version; a pool whose source is missing (deleted)
// or has another version is closed. It returns the ids it dropped.
func (m *Manager) DropStale(current map[string]int) []string {
	var dropped []string
	for _, k := range m.Keys() {
		if v, ok := current[k.ID]; ok && v == k.Version {
			continue
		}
		m.mu.Lock()
		if p, ok := m.pools[k.ID]; ok && p.key == k {
			m.closeLocked(p)
			m.wait.DeleteLabelValues(k.ID)
			dropped = append(dropped, k.ID)
		}
		m.mu.Unlock()
	}
	return dropped
}

func (m *Manager) closeLocked(p *Pool) {
	delete(m.pools, p.key.ID)
	p.Close()
	if rs, ok := m.sets[p.key.ID]; ok && rs.key.Version <= p.key.Version {
		rs.close()
		delete(m.sets, p.key.ID)
		for _, r := range rs.replicas {
			m.closing = append(m.closing, r.pool)
		}
	}
	// Remember it until it has finished, so that Close can wait for it.
	kept := m.closing[:0]
	for _, c := range m.closing {
		select {
		case <-c.Done():
		default:
			kept = append(kept, c)
		}
	}
	m.closing = append(kept, p)
}

// Close closes every pool and waits, until ctx ends, for their connections
// to be closed. Register it with the process's closers.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	for _, p := range m.pools {
		m.closeLocked(p)
	}
	for id, rs := range m.sets {
		rs.close()
		delete(m.sets, id)
		for _, r := range rs.replicas {
			m.closing = append(m.closing, r.pool)
		}
	}
	waiting := append([]*Pool(nil), m.closing...)
	m.mu.Unlock()
	for _, p := range waiting {
		select {
		case <-p.Done():
		case <-ctx.Done():
			return fmt.Errorf("pool: close: connections still in use: %w", ctx.Err())
		}
	}
	return nil
}

// Describe implements prometheus.Collector.
func (m *Manager) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.active
	ch <- m.idle
	ch <- m.lag
}

// Collect implements prometheus.Collector: one active and one idle gauge
// per open pool, so a closed pool's series disappear with it.
func (m *Manager) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	pools := make([]*Pool, 0, len(m.pools))
	for _, p := range m.pools {
		pools = append(pools, p)
	}
	sets := make(map[string]*ReplicaSet, len(m.sets))
	for id, rs := range m.sets {
		sets[id] = rs
	}
	m.mu.Unlock()
	for _, p := range pools {
		s := p.Stat()
		active, idle := s.Acquired, s.Idle
		if rs, ok := sets[p.key.ID]; ok {
			for _, r := range rs.replicas {
				rst := r.pool.Stat()
				active += rst.Acquired
				idle += rst.Idle
			}
		}
		ch <- prometheus.MustNewConstMetric(m.active, prometheus.GaugeValue, float64(active), p.key.ID)
		ch <- prometheus.MustNewConstMetric(m.idle, prometheus.GaugeValue, float64(idle), p.key.ID)
	}
	for id, rs := range sets {
		for _, h := range rs.Health() {
			if h.Lag >= 0 {
				ch <- prometheus.MustNewConstMetric(m.lag, prometheus.GaugeValue, h.Lag.Seconds(), id, h.Addr.String())
			}
		}
	}
}
