package redisx_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	shared "github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/cache/internal/config"
	"github.com/altus4/altus/services/cache/internal/redisx"
)

func TestClientOptionOfEachDeployment(t *testing.T) {
	r := shared.Redis{Host: "h", Port: 6379, Password: "pw", DB: 2}
	type got struct {
		Init                   []string
		Password, Master, SPwd string
		DB                     int
		Single, Shuffle        bool
		NeedsServer, NoCache   bool
		TLS                    bool
	}
	tests := []struct {
		name string
		topo config.Topology
		o    redisx.Options
		want got
	}{
		{"standalone", config.Topology{}, redisx.Options{ClientCacheBytes: 1 << 20},
			got{Init: []string{"h:6379"}, Password: "pw", DB: 2, Single: true}},
		{"standalone without client cache", config.Topology{}, redisx.Options{},
			got{Init: []string{"h:6379"}, Password: "pw", DB: 2, Single: true, NoCache: true}},
		{"url", config.Topology{URL: "rediss://u:upw@r.example:6380/4"}, redisx.Options{ClientCacheBytes: 1 << 20},
			got{Init: []string{"r.example:6380"}, Password: "upw", DB: 4, Single: true, TLS: true}},
		{"url without a password takes REDIS_PASSWORD", config.Topology{URL: "redis://r:6379"}, redisx.Options{ClientCacheBytes: 1 << 20},
			got{Init: []string{"r:6379"}, Password: "pw", Single: true}},
		{"url turning client caching off", config.Topology{URL: "redis://r:6379?client_cache=0"}, redisx.Options{ClientCacheBytes: 1 << 20},
			got{Init: []string{"r:6379"}, Password: "pw", Single: true, NoCache: true}},
		{"url naming a master set", config.Topology{URL: "redis://r:26379?master_set=m&addr=s:26379"}, redisx.Options{ClientCacheBytes: 1 << 20},
			got{Init: []string{"r:26379", "s:26379"}, Password: "pw", Master: "m", Shuffle: true, NeedsServer: true}},
		{"url naming several nodes", config.Topology{URL: "redis://n1:7000?addr=n2:7000"}, redisx.Options{ClientCacheBytes: 1 << 20},
			got{Init: []string{"n1:7000", "n2:7000"}, Password: "pw", Shuffle: true, NeedsServer: true}},
		{"sentinel", config.Topology{Sentinels: []string{"s1:26379", "s2:26379"}, SentinelMaster: "m", SentinelPassword: "spw"}, redisx.Options{ClientCacheBytes: 1 << 20},
			got{Init: []string{"s1:26379", "s2:26379"}, Password: "pw", Master: "m", SPwd: "spw", DB: 2, Shuffle: true, NeedsServer: true}},
		{"cluster", config.Topology{ClusterNodes: []string{"n1:7000", "n2:7000", "n3:7000"}}, redisx.Options{ClientCacheBytes: 1 << 20},
			got{Init: []string{"n1:7000", "n2:7000", "n3:7000"}, Password: "pw", Shuffle: true, NeedsServer: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt, needs, err := redisx.ClientOption(r, tt.topo, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			g := got{Init: opt.InitAddress, Password: opt.Password, Master: opt.Sentinel.MasterSet, SPwd: opt.Sentinel.Password,
				DB: opt.SelectDB, Single: opt.ForceSingleClient, Shuffle: opt.ShuffleInit, NeedsServer: needs, NoCache: opt.DisableCache,
				TLS: opt.TLSConfig != nil}
			if diff := cmp.Diff(tt.want, g, cmp.Transformer("sorted", func(s []string) map[string]bool {
				m := map[string]bool{}
				for _, x := range s {
					m[x] = true
				}
				return m
			})); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribeNeverShowsAPassword(t *testing.T) {
	r := shared.Redis{Host: "h", Port: 6379, Password: "secret1"}
	for _, topo := range []config.Topology{{}, {URL: "redis://u:secret2@r:6379"}, {Sentinels: []string{"s:1"}, SentinelMaster: "m", SentinelPassword: "secret3"},
		{ClusterNodes: []string{"n:1"}}} {
		d := redisx.Describe(r, topo)
		for _, s := range []string{"secret1", "secret2", "secret3"} {
			if strings.Contains(d, s) {
				t.Errorf("Describe(%+v) = %q shows a password", topo, d)
			}
		}
	}
}

// With nothing listening, Open still returns a Conn; Client fails at once
// with ErrNotConnected.
func TestOpenWithNoServerAnsweringGivesAConnThatIsNotConnected(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	for _, topo := range []config.Topology{{Sentinels: []string{addr}, SentinelMaster: "m"}, {ClusterNodes: []string{addr}}} {
		c, err := redisx.Open(shared.Redis{Host: "127.0.0.1", Port: 6379}, topo, redisx.Options{})
		if err != nil {
			t.Fatalf("Open(%+v): %v", topo, err)
		}
		if _, err := c.Client(); !errors.Is(err, redisx.ErrNotConnected) {
			t.Errorf("Client() = %v; want ErrNotConnected", err)
		}
		c.Close()
	}
}
