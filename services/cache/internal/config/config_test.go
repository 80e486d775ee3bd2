package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/services/cache/internal/config"
)

func TestDefaultsMatchTheSuitePorts(t *testing.T) {
	c := config.Default()
	type got struct {
		GRPCPort       int
		RedisAddr      string
		Prefix         string
		Timeout, Check time.Duration
	}
	want := got{50052, "127.0.0.1:6379", "altus4:", 500 * time.Millisecond, 2 * time.Second}
	if diff := cmp.Diff(want, got{c.GRPCPort, c.Redis.Addr(), c.Redis.Prefix, c.RedisTimeout, c.RedisCheckInterval}); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if config.DefaultAdminPort != 9092 {
		t.Errorf("DefaultAdminPort = %d; want 9092", config.DefaultAdminPort)
	}
}

func TestLoad(t *testing.T) {
	secret := "JWT_SECRET=0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		environ []string
		wantErr bool
	}{
		{"production with a secret", []string{secret}, false},
		{"production without a secret", []string{}, true},
		{"development without a secret", []string{"ALTUS_ENV=development"}, false},
		{"every override", []string{secret, "ALTUS_GRPC_PORT=6000", "REDIS_HOST=redis", "REDIS_PORT=7000", "ALTUS_REDIS_DB=2",
			"ALTUS_REDIS_PREFIX=x:", "ALTUS_REDIS_TIMEOUT=1s", "ALTUS_REDIS_CHECK_INTERVAL=5s"}, false},
		{"bad port", []string{secret, "ALTUS_GRPC_PORT=70000"}, true},
		{"zero timeout", []string{secret, "ALTUS_REDIS_TIMEOUT=0s"}, true},
		{"check interval too short", []string{secret, "ALTUS_REDIS_CHECK_INTERVAL=1ms"}, true},
		{"unparsable timeout", []string{secret, "ALTUS_REDIS_TIMEOUT=soon"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.environ)
			if (err != nil) != tt.wantErr {
				t.Errorf("Load(%v) error = %v; want error %v", tt.environ, err, tt.wantErr)
			}
		})
	}
}

func TestLoadReadsOverrides(t *testing.T) {
	c, err := config.Load([]string{"JWT_SECRET=0123456789abcdef0123456789abcdef", "ALTUS_GRPC_PORT=6000", "REDIS_HOST=redis",
		"REDIS_PORT=7000", "REDIS_PASSWORD=pw", "ALTUS_REDIS_DB=2", "ALTUS_REDIS_PREFIX=x:", "ALTUS_REDIS_TIMEOUT=1s", "ALTUS_REDIS_CHECK_INTERVAL=5s"})
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		GRPCPort               int
		Addr, Password, Prefix string
		DB                     int
		Timeout, Check         time.Duration
	}
	want := got{6000, "redis:7000", "pw", "x:", 2, time.Second, 5 * time.Second}
	if diff := cmp.Diff(want, got{c.GRPCPort, c.Redis.Addr(), c.Redis.Password, c.Redis.Prefix, c.Redis.DB, c.RedisTimeout, c.RedisCheckInterval}); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestTopologyChoosesTheDeployment(t *testing.T) {
	secret := "JWT_SECRET=0123456789abcdef0123456789abcdef"
	tests := []struct {
		name     string
		environ  []string
		want     config.Mode
		warnings int
	}{
		{"default standalone", []string{secret}, config.Standalone, 0},
		{"standalone host and port", []string{secret, "REDIS_HOST=redis", "REDIS_PORT=7000"}, config.Standalone, 0},
		{"url", []string{secret, "REDIS_URL=rediss://user:pw@redis.example:6380/2"}, config.URL, 0},
		{"sentinel", []string{secret, "REDIS_SENTINELS=s1:26379, s2:26379,s3:26379", "REDIS_SENTINEL_MASTER=mymaster",
			"REDIS_SENTINEL_PASSWORD=spw", "REDIS_PASSWORD=pw"}, config.Sentinel, 0},
		{"cluster", []string{secret, "REDIS_CLUSTER_NODES=n1:7000,n2:7000,n3:7000"}, config.Cluster, 0},
		{"cluster with a leftover host and port", []string{secret, "REDIS_CLUSTER_NODES=n1:7000", "REDIS_HOST=old", "REDIS_PORT=6379"}, config.Cluster, 2},
		{"empty lists are unset", []string{secret, "REDIS_SENTINELS=", "REDIS_CLUSTER_NODES= , "}, config.Standalone, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(tt.environ)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := c.Topology.Mode(); got != tt.want {
				t.Errorf("Mode() = %q; want %q", got, tt.want)
			}
			if len(c.Warnings) != tt.warnings {
				t.Errorf("warnings = %q; want %d", c.Warnings, tt.warnings)
			}
		})
	}
}

func TestTopologyListsAreTrimmed(t *testing.T) {
	c, err := config.Load([]string{"ALTUS_ENV=development", "REDIS_SENTINELS= s1:26379 ,s2:26380,", "REDIS_SENTINEL_MASTER=m"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"s1:26379", "s2:26380"}, c.Topology.SentinelAddrs()); diff != "" {
		t.Errorf("SentinelAddrs (-want +got):\n%s", diff)
	}
}

// Conflicting settings fail the start with one error that names them.
func TestTopologyConflictsAreRejectedNamingTheSettings(t *testing.T) {
	dev := "ALTUS_ENV=development"
	tests := []struct {
		name    string
		environ []string
		names   []string
	}{
		{"sentinels and cluster", []string{dev, "REDIS_SENTINELS=s:26379", "REDIS_SENTINEL_MASTER=m", "REDIS_CLUSTER_NODES=n:7000"},
			[]string{"REDIS_SENTINELS", "REDIS_CLUSTER_NODES"}},
		{"url and cluster", []string{dev, "REDIS_URL=redis://r:6379", "REDIS_CLUSTER_NODES=n:7000"}, []string{"REDIS_URL", "REDIS_CLUSTER_NODES"}},
		{"sentinels without a master", []string{dev, "REDIS_SENTINELS=s:26379"}, []string{"REDIS_SENTINEL_MASTER"}},
		{"master without sentinels", []string{dev, "REDIS_SENTINEL_MASTER=m"}, []string{"REDIS_SENTINELS"}},
		{"sentinel password without sentinels", []string{dev, "REDIS_SENTINEL_PASSWORD=x"}, []string{"REDIS_SENTINEL_PASSWORD"}},
		{"sentinel address without a port", []string{dev, "REDIS_SENTINELS=s", "REDIS_SENTINEL_MASTER=m"}, []string{"REDIS_SENTINELS"}},
		{"cluster node with a bad port", []string{dev, "REDIS_CLUSTER_NODES=n:70000"}, []string{"REDIS_CLUSTER_NODES"}},
		{"cluster with a database", []string{dev, "REDIS_CLUSTER_NODES=n:7000", "ALTUS_REDIS_DB=1"}, []string{"ALTUS_REDIS_DB"}},
		{"url with another scheme", []string{dev, "REDIS_URL=http://r:6379"}, []string{"REDIS_URL"}},
		{"url with a bad database", []string{dev, "REDIS_URL=redis://r:6379/x"}, []string{"REDIS_URL"}},
		{"url and password both hold one", []string{dev, "REDIS_URL=redis://:a@r:6379", "REDIS_PASSWORD=b"}, []string{"REDIS_URL", "REDIS_PASSWORD"}},
		{"url and database", []string{dev, "REDIS_URL=redis://r:6379", "ALTUS_REDIS_DB=3"}, []string{"ALTUS_REDIS_DB", "REDIS_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.environ)
			if err == nil {
				t.Fatalf("Load(%v) = nil error; want one naming %v", tt.environ, tt.names)
			}
			// The names of the variables are the contract of the message.
			for _, n := range tt.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %s", err, n)
				}
			}
		})
	}
}

func TestURLErrorsDoNotShowThePassword(t *testing.T) {
	_, err := config.Load([]string{"ALTUS_ENV=development", "REDIS_URL=redis://:s3cret@r:6379/x%zz"})
	if err == nil {
		t.Fatal("Load accepted an unparsable URL")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q shows the password", err)
	}
}
