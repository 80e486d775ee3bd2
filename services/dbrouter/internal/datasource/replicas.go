package datasource

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/altus4/altus/pkg/validate"

	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/store"
)

// MaxReplicas bounds the read replicas of one source.
const MaxReplicas = 8

// Replica is a read replica of a source: another server with the same
// database, reached with the source's username, password and ssl setting.
// Port 0 means DefaultPort.
type Replica struct {
	Host string
	Port int
}

// ReplicaHealth is the last health check of a read replica by this
// instance (pool.ReplicaUnknown before the first one).
type ReplicaHealth = pool.ReplicaHealth

// checkReplicas trims and defaults the replicas and records their problems
// under replicas[i].host / replicas[i].port / replicas.
func checkReplicas(c *validate.Collector, rs []Replica) []Replica {
	if len(rs) == 0 {
		return nil
	}
	if len(rs) > MaxReplicas {
		c.Add("replicas", CodeTooLong, "A source may have at most %d read replicas.", MaxReplicas)
		return rs
	}
	out := make([]Replica, len(rs))
	seen := map[pool.ReplicaAddr]bool{}
	for i, r := range rs {
		r.Host = strings.TrimSpace(r.Host)
		if r.Port == 0 {
			r.Port = DefaultPort
		}
		field := "replicas[" + strconv.Itoa(i) + "]"
		checkHost(c, field+".host", r.Host)
		checkPort(c, field+".port", r.Port)
		a := pool.ReplicaAddr{Host: r.Host, Port: r.Port}
		if seen[a] {
			c.Add(field, CodeInvalid, "The read replica %s is listed twice.", a)
		}
		seen[a] = true
		out[i] = r
	}
	return out
}

func storeReplicas(rs []Replica) []store.Replica {
	if len(rs) == 0 {
		return nil
	}
	out := make([]store.Replica, len(rs))
	for i, r := range rs {
		out[i] = store.Replica{Host: r.Host, Port: r.Port}
	}
	return out
}

func domainReplicas(rs []store.Replica) []Replica {
	if len(rs) == 0 {
		return nil
	}
	out := make([]Replica, len(rs))
	for i, r := range rs {
		out[i] = Replica{Host: r.Host, Port: r.Port}
	}
	return out
}

func replicaAddrs(rs []store.Replica) []pool.ReplicaAddr {
	out := make([]pool.ReplicaAddr, len(rs))
	for i, r := range rs {
		out[i] = pool.ReplicaAddr{Host: r.Host, Port: r.Port}
	}
	return out
}

// probeReplicas tests every replica with primary's database and
// credentials, concurrently; the first failure (in replica order) is
// returned as ErrConnectionFailed naming the replica's address.
func (s *Service) probeReplicas(ctx context.Context, primary pool.Settings, rs []store.Replica) error {
	errs := make([]error, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := primary
			st.Host, st.Port = r.Host, r.Port
			_, errs[i] = s.probe(ctx, st)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			cf := connectFailure(err).(*connectionFailed)
			cf.public = "Read replica " + strconv.Itoa(i+1) + ": " + cf.public
			return cf
		}
	}
	return nil
}

// withHealth fills c.ReplicaStatus from this instance's checks of the
// source's current replicas (unknown when it holds none for this version).
func (s *Service) withHealth(c Connection) Connection {
	if len(c.Replicas) == 0 {
		return c
	}
	c.ReplicaStatus = make([]ReplicaHealth, len(c.Replicas))
	for i, r := range c.Replicas {
		c.ReplicaStatus[i] = ReplicaHealth{Addr: pool.ReplicaAddr{Host: r.Host, Port: r.Port}, State: pool.ReplicaUnknown, Lag: -1}
	}
	rs, ok := s.pools.LookupReplicas(c.ID)
	if !ok || rs.Version() != c.Version {
		return c
	}
	for i, h := range rs.Health() {
		if i < len(c.ReplicaStatus) && h.Addr == c.ReplicaStatus[i].Addr {
			c.ReplicaStatus[i] = h
		}
	}
	return c
}

// replicasOf returns the open read replicas of src's version (nil when it
// has none), opening them with settings when needed.
func (s *Service) replicasOf(src store.Source, settings pool.Settings) (*pool.ReplicaSet, error) {
	if len(src.Replicas) == 0 {
		return nil, nil
	}
	if rs, ok := s.pools.LookupReplicas(src.ID); ok && rs.Version() >= src.Version {
		return rs, nil
	}
	return s.pools.Replicas(pool.Key{ID: src.ID, Version: src.Version}, settings, replicaAddrs(src.Replicas))
}
