package config_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/gateway/internal/config"
)

const secret = "JWT_SECRET=0123456789abcdef0123456789abcdef"

func TestDefaultsAreTheSuitePortsAndV1Settings(t *testing.T) {
	c, err := config.Load([]string{secret})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	got := []any{
		c.Port, config.DefaultAdminPort,
		c.Services.Search, c.Services.Cache, c.Services.Enhance, c.Services.DBRouter, c.Services.Account,
		c.AllowedOrigins, c.AuthCacheTTL, c.AuthRateLimit, c.AuthRateWindow, c.KeyEnvironments, c.Runtime.Env, c.Runtime.LogLevel,
	}
	want := []any{
		3000, 9090,
		"127.0.0.1:50051", "127.0.0.1:50052", "127.0.0.1:50053", "127.0.0.1:50054", "127.0.0.1:50055",
		[]string{"http://localhost:3000", "http://localhost:5173"}, 5 * time.Second, 20, 15 * time.Minute, []string{"live", "test"}, "production", "info",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestV1NamesAndAltusNamesOverrideTheDefaults(t *testing.T) {
	c, err := config.Load([]string{secret,
		"PORT=3100", "ALLOWED_ORIGINS=https://app.example.com,https://admin.example.com", "LOG_LEVEL=debug",
		"ALTUS_ACCOUNT_ADDR=10.0.0.5:6000", "ALTUS_AUTH_CACHE_TTL=1s", "ALTUS_TRUSTED_PROXIES=10.0.0.0/8, 192.168.1.1",
	})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	got := []any{c.Port, c.AllowedOrigins, c.Runtime.LogLevel, c.Services.Account, c.AuthCacheTTL, c.Proxies}
	want := []any{3100, []string{"https://app.example.com", "https://admin.example.com"}, "debug", "10.0.0.5:6000", time.Second,
		[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("overrides (-want +got):\n%s", diff)
	}
}

func TestEveryProblemIsReportedInOneError(t *testing.T) {
	_, err := config.Load([]string{
		"JWT_SECRET=too-short", "PORT=70000", "LOG_LEVEL=loud", "ALTUS_AUTH_CACHE_TTL=2m",
		"ALTUS_API_KEY_ENVIRONMENTS=live,staging", "ALTUS_TRUSTED_PROXIES=not-an-address", "ALTUS_REQUEST_TIMEOUT=soon",
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"JWT_SECRET", "PORT", "LOG_LEVEL", "ALTUS_AUTH_CACHE_TTL", "ALTUS_API_KEY_ENVIRONMENTS", "ALTUS_TRUSTED_PROXIES", "ALTUS_REQUEST_TIMEOUT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

func TestMissingJWTSecretStopsEverythingButDevelopment(t *testing.T) {
	for _, env := range []string{"production", "test"} {
		if _, err := config.Load([]string{"ALTUS_ENV=" + env}); err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
			t.Errorf("ALTUS_ENV=%s without JWT_SECRET: err = %v", env, err)
		}
	}
	c, err := config.Load([]string{"ALTUS_ENV=development"})
	if err != nil || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "JWT_SECRET") {
		t.Errorf("development without JWT_SECRET: warnings %v, err %v", c.Warnings, err)
	}
}
