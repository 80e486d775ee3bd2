package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/pkg/testenv"
)

type replicaConnection struct {
	ID       string `json:"id"`
	Version  int    `json:"version"`
	Replicas []struct {
		Host string `json:"host"`
		Port int    `json:"port"`
	} `json:"replicas"`
	ReplicaStatus []struct {
		Host       string `json:"host"`
		Port       int    `json:"port"`
		State      string `json:"state"`
		Reason     string `json:"reason"`
		LagSeconds int    `json:"lagSeconds"`
	} `json:"replicaStatus"`
}

// TestReadReplicasOverREST: replicas are accepted, tested, returned with
// their health, and cleared over the v1 REST API; a replica that cannot be
// used (here the server itself, whose status the tenant's account may not
// read) leaves searches on the primary.
func TestReadReplicasOverREST(t *testing.T) {
	s := StartSuite(t, map[string]string{"ALTUS_REPLICA_CHECK_INTERVAL": "200ms"})
	tenant := TenantDatabase(t)
	server := testenv.ServerConfig()
	u := s.Register(t)
	_, key := s.CreateKey(t, u, map[string]any{"name": "search key", "permissions": []string{"search"}})

	r := s.Call(t, http.MethodPost, "/api/v1/databases", u.Token, map[string]any{
		"name": "bad replica", "host": server.Host, "port": server.Port, "database": tenant.Database,
		"username": tenant.User, "password": tenant.Password,
		"replicas": []map[string]any{{"host": "mysql://x", "port": 70000}},
	})
	Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
	if diff := cmp.Diff([]string{"replicas[0].host", "replicas[0].port"}, detailFields(t, r)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	r = s.Call(t, http.MethodPost, "/api/v1/databases", u.Token, map[string]any{
		"name": "closed replica", "host": server.Host, "port": server.Port, "database": tenant.Database,
		"username": tenant.User, "password": tenant.Password,
		"replicas": []map[string]any{{"host": "127.0.0.1", "port": testenv.FreePort(t)}},
	})
	Expect(t, r, http.StatusBadRequest, "DATABASE_CONNECTION_FAILED")

	r = s.Call(t, http.MethodPost, "/api/v1/databases", u.Token, map[string]any{
		"name": "with replica", "host": server.Host, "port": server.Port, "database": tenant.Database,
		"username": tenant.User, "password": tenant.Password,
		"replicas": []map[string]any{{"host": server.Host, "port": server.Port}},
	})
	Expect(t, r, http.StatusCreated, "")
	var c replicaConnection
	r.Decode(t, &c)
	if len(c.Replicas) != 1 || c.Replicas[0].Port != server.Port || len(c.ReplicaStatus) != 1 || c.ReplicaStatus[0].LagSeconds != -1 {
		t.Fatalf("created = %s", r.Raw)
	}

	d := s.doSearch(t, key, map[string]any{"query": "pooling", "databases": []string{c.ID}})
	if len(d.Results) == 0 {
		t.Fatalf("a search with an unusable replica found nothing")
	}
	// The search opened the replica's pool and its first check; poll
	// (bounded) until that check has answered.
	var got replicaConnection
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(10 * time.Second); ; <-tick.C {
		s.Call(t, http.MethodGet, "/api/v1/databases/"+c.ID, u.Token, nil).Decode(t, &got)
		if len(got.ReplicaStatus) != 1 || got.ReplicaStatus[0].State != "unknown" || time.Now().After(deadline) {
			break
		}
	}
	if st := got.ReplicaStatus; len(st) != 1 || st[0].State != "ejected" || st[0].Reason != "privileges" {
		t.Errorf("replica status after a search = %+v, want ejected for privileges", st)
	}

	r = s.Call(t, http.MethodPut, "/api/v1/databases/"+c.ID, u.Token, map[string]any{"clearReplicas": true})
	Expect(t, r, http.StatusOK, "")
	var cleared replicaConnection
	r.Decode(t, &cleared)
	if len(cleared.Replicas) != 0 || len(cleared.ReplicaStatus) != 0 {
		t.Errorf("after clearReplicas = %s", r.Raw)
	}
}
