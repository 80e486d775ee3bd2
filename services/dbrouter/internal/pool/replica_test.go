package pool

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func TestIsConnectionErrorTellsBrokenConnectionsFromRefusedStatements(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"bad connection", fmt.Errorf("query: %w", driver.ErrBadConn), true},
		{"invalid connection", mysql.ErrInvalidConn, true},
		{"EOF mid-read", io.ErrUnexpectedEOF, true},
		{"connection refused", &ConnectError{Addr: "h:1", Reason: "refused", Err: syscall.ECONNREFUSED}, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"server shutting down", &mysql.MySQLError{Number: 1053}, true},
		{"connection killed", &mysql.MySQLError{Number: 1927}, true},
		{"pool closed", ErrClosed, true},
		{"statement time limit", &mysql.MySQLError{Number: 1969}, false},
		{"syntax error", &mysql.MySQLError{Number: 1064}, false},
		{"caller gave up", context.Canceled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsConnectionError(tt.err); got != tt.want {
				t.Errorf("IsConnectionError(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// replicaSetOf returns replicas (pools to the test server, which is no
// replica) without background checks, with the given states.
func replicaSetOf(t *testing.T, states ...string) *ReplicaSet {
	t.Helper()
	s, _ := source(t)
	rs := &ReplicaSet{key: Key{ID: "src", Version: 1}}
	for i, st := range states {
		p := newPool(t, s, Options{MaxSize: 4, ReapInterval: -1})
		a := ReplicaAddr{Host: "replica", Port: i + 1}
		rs.replicas = append(rs.replicas, &Replica{addr: a, pool: p, health: ReplicaHealth{Addr: a, State: st, Lag: -1}})
	}
	return rs
}

func TestPickTakesTheHealthyReplicaWithFewestConnectionsInUse(t *testing.T) {
	ctx := context.Background()
	rs := replicaSetOf(t, ReplicaHealthy, ReplicaHealthy, ReplicaEjected)
	busy, err := rs.replicas[0].pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if got := rs.Pick(); got != rs.replicas[1] {
			t.Fatalf("Pick = %v, want the idle healthy replica %v", got.Addr(), rs.replicas[1].Addr())
		}
	}
	busy.Release()
	other, err := rs.replicas[1].pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	if got := rs.Pick(); got != rs.replicas[0] {
		t.Errorf("Pick = %v, want %v once the other is busy", got.Addr(), rs.replicas[0].Addr())
	}
}

func TestPickTakesEqualReplicasInTurn(t *testing.T) {
	rs := replicaSetOf(t, ReplicaHealthy, ReplicaHealthy)
	seen := map[*Replica]int{}
	for range 10 {
		seen[rs.Pick()]++
	}
	if seen[rs.replicas[0]] != 5 || seen[rs.replicas[1]] != 5 {
		t.Errorf("picks = %d and %d, want 5 and 5", seen[rs.replicas[0]], seen[rs.replicas[1]])
	}
}

func TestPickReturnsNothingWhenNoReplicaIsHealthy(t *testing.T) {
	rs := replicaSetOf(t, ReplicaUnknown, ReplicaEjected)
	if got := rs.Pick(); got != nil {
		t.Errorf("Pick = %v, want nil", got.Addr())
	}
	var none *ReplicaSet
	if got := none.Pick(); got != nil {
		t.Errorf("Pick of no replicas = %v, want nil", got.Addr())
	}
}

func TestACheckOfAServerWithoutReplicationEjectsItAsNotReplicating(t *testing.T) {
	rs := replicaSetOf(t, ReplicaHealthy)
	var ejected []string
	rs.opts = ReplicaOptions{}.withDefaults()
	rs.onEject = func(_ ReplicaAddr, reason string) { ejected = append(ejected, reason) }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rs.CheckNow(ctx)
	rs.CheckNow(ctx)
	h := rs.replicas[0].Health()
	if h.State != ReplicaEjected || h.Reason != ReasonNotReplicating || h.Lag != -1 {
		t.Errorf("health = %+v, want ejected, not_replicating, lag -1", h)
	}
	if len(ejected) != 1 {
		t.Errorf("ejections = %v, want one (a second check of the same state is no new ejection)", ejected)
	}
}

func TestACheckOfAReplicaWhoseConnectionsAreAllBusyKeepsItsState(t *testing.T) {
	s, _ := source(t)
	p := newPool(t, s, Options{MaxSize: 1, AcquireTimeout: 100 * time.Millisecond, ReapInterval: -1})
	a := ReplicaAddr{Host: "replica", Port: 1}
	r := &Replica{addr: a, pool: p, health: ReplicaHealth{Addr: a, State: ReplicaHealthy, Lag: 0}}
	rs := &ReplicaSet{key: Key{ID: "src", Version: 1}, opts: ReplicaOptions{}.withDefaults(), replicas: []*Replica{r}}
	busy, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Release()
	rs.CheckNow(context.Background())
	if h := r.Health(); h.State != ReplicaHealthy {
		t.Errorf("health after a check that found no free connection = %+v, want still healthy", h)
	}
}
