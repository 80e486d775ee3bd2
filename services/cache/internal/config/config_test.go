package config_test

import (
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
