package config

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefaults(t *testing.T) {
	c := Default()
	got := []any{c.GRPCPort, c.Migrate, c.Sources.PoolSize, c.Sources.AcquireTimeout, c.Sources.IdleTimeout, c.Sources.TLSSkipVerify, c.Sources.SweepInterval, c.SchemaTTL,
		c.Sources.ReplicaCheckInterval, c.Sources.ReplicaMaxLag}
	want := []any{50054, true, 0, 2 * time.Second, 5 * time.Minute, false, 30 * time.Second, 5 * time.Minute, 2 * time.Second, 10 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	search := []any{c.Search.MaxValueChars, c.Search.StatementTimeout, c.Search.CountBudget, c.SourceConcurrency()}
	derived := DefaultPoolSize(runtime.NumCPU(), MemoryBytes())
	if diff := cmp.Diff([]any{8192, 5 * time.Second, 300 * time.Millisecond, derived}, search); diff != "" {
		t.Errorf("search defaults (-want +got):\n%s", diff)
	}
	if DefaultAdminPort != 9094 {
		t.Errorf("DefaultAdminPort = %d, want 9094", DefaultAdminPort)
	}
}

func TestLoadRequiresTheEncryptionKeyOutsideDevelopment(t *testing.T) {
	jwt := "JWT_SECRET=0123456789abcdef0123456789abcdef"
	key := "ENCRYPTION_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	tests := []struct {
		name    string
		environ []string
		wantErr string // a variable the error must name, or "" for success
	}{
		{"production without a key", []string{jwt}, "ENCRYPTION_KEY"},
		{"production with a short key", []string{jwt, "ENCRYPTION_KEY=abcd"}, "ENCRYPTION_KEY"},
		{"production with a key", []string{jwt, key}, ""},
		{"development without secrets", []string{"ALTUS_ENV=development"}, ""},
		{"bad pool settings", []string{jwt, key, "ALTUS_SOURCE_POOL_SIZE=-1", "ALTUS_SOURCE_ACQUIRE_TIMEOUT=0s", "ALTUS_SCHEMA_TTL=0s"}, "ALTUS_SOURCE_POOL_SIZE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.environ)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if len(c.Secrets.EncryptionKeyBytes()) != 32 {
					t.Errorf("encryption key is %d bytes, want 32", len(c.Secrets.EncryptionKeyBytes()))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load error = %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Load([]string{"ALTUS_SOURCE_POOL_SIZE=-1", "ALTUS_SOURCE_ACQUIRE_TIMEOUT=0s", "ALTUS_SCHEMA_TTL=0s", "ALTUS_GRPC_PORT=0",
		"ALTUS_SEARCH_MAX_VALUE_BYTES=0", "ALTUS_STATEMENT_TIMEOUT=0s", "ALTUS_COUNT_BUDGET=0s", "ALTUS_SOURCE_MAX_CONCURRENCY=-1"})
	if err == nil {
		t.Fatal("Load accepted invalid settings")
	}
	for _, v := range []string{"JWT_SECRET", "ENCRYPTION_KEY", "ALTUS_SOURCE_POOL_SIZE", "ALTUS_SOURCE_ACQUIRE_TIMEOUT", "ALTUS_SCHEMA_TTL", "ALTUS_GRPC_PORT",
		"ALTUS_SEARCH_MAX_VALUE_BYTES", "ALTUS_STATEMENT_TIMEOUT", "ALTUS_COUNT_BUDGET", "ALTUS_SOURCE_MAX_CONCURRENCY"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not name %s:\n%v", v, err)
		}
	}
}

func TestSourceConcurrencyDefaultsToThePoolSize(t *testing.T) {
	c, err := Load([]string{"ALTUS_ENV=development", "ALTUS_SOURCE_POOL_SIZE=7"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.SourceConcurrency(); got != 7 {
		t.Errorf("SourceConcurrency = %d, want the pool size 7", got)
	}
	c, err = Load([]string{"ALTUS_ENV=development", "ALTUS_SOURCE_POOL_SIZE=7", "ALTUS_SOURCE_MAX_CONCURRENCY=3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.SourceConcurrency(); got != 3 {
		t.Errorf("SourceConcurrency = %d, want 3", got)
	}
}

func TestDefaultPoolSizeFollowsTheScalingGuidesConnectionLimit(t *testing.T) {
	const gib = int64(1) << 30
	tests := []struct {
		name string
		cpus int
		mem  int64
		want int
	}{
		{"2 cores, 8 GiB: the floor of 10 plus 4", 2, 8 * gib, 14},
		{"8 cores, 16 GiB: 16 plus 8", 8, 16 * gib, 24},
		{"1 core, memory unknown: the floor", 1, 0, 10},
		{"64 cores, 256 GiB: capped at 50", 64, 256 * gib, 50},
		{"2 cores, 1.5 GiB: less than 2 GiB adds nothing", 2, gib + gib/2, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefaultPoolSize(tt.cpus, tt.mem); got != tt.want {
				t.Errorf("DefaultPoolSize(%d, %d) = %d, want %d", tt.cpus, tt.mem, got, tt.want)
			}
		})
	}
}

func TestAnExplicitPoolSizeWinsOverTheDerivedOne(t *testing.T) {
	c, err := Load([]string{"ALTUS_ENV=development", "ALTUS_SOURCE_POOL_SIZE=3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources.EffectivePoolSize(); got != 3 {
		t.Errorf("EffectivePoolSize = %d, want 3", got)
	}
}

func TestReplicaSettingsAreChecked(t *testing.T) {
	_, err := Load([]string{"ALTUS_ENV=development", "ALTUS_REPLICA_CHECK_INTERVAL=1ms", "ALTUS_REPLICA_MAX_LAG=0s"})
	for _, v := range []string{"ALTUS_REPLICA_CHECK_INTERVAL", "ALTUS_REPLICA_MAX_LAG"} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("Load error %v does not name %s", err, v)
		}
	}
}
