package redistest_test

import (
	"testing"
	"time"

	"github.com/altus4/altus/services/cache/internal/redistest"
)

func TestSentinelDeploymentReportsItsMaster(t *testing.T) {
	start := time.Now()
	d, err := redistest.StartSentinel(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	t.Logf("sentinel deployment up in %s", time.Since(start))
	if got, want := d.MasterAddr(), d.Master.Addr; got != want {
		t.Errorf("MasterAddr() = %q; want %q", got, want)
	}
	if got := d.Replica.Info("replication", "role"); got != "slave" {
		t.Errorf("replica role = %q; want slave", got)
	}
}

func TestClusterDeploymentServesEverySlot(t *testing.T) {
	start := time.Now()
	c, err := redistest.StartCluster(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	t.Logf("cluster up in %s", time.Since(start))
	masters := 0
	for _, n := range c.Nodes {
		if n.Info("replication", "role") == "master" {
			masters++
		}
	}
	if masters != 3 {
		t.Errorf("%d masters; want 3", masters)
	}
}
