package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/services/account/internal/config"
)

const secret = "0123456789abcdef0123456789abcdef"

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load([]string{"JWT_SECRET=" + secret})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	got := []any{c.GRPCPort, c.JWTTTL, c.Migrate, c.Services.DBRouter, c.Services.Cache, c.MySQL.Database}
	want := []any{50055, 168 * time.Hour, true, "127.0.0.1:50054", "127.0.0.1:50052", "altus4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestLoadOverrides(t *testing.T) {
	c, err := config.Load([]string{"JWT_SECRET=" + secret, "ALTUS_GRPC_PORT=6000", "ALTUS_JWT_TTL=2h", "ALTUS_MIGRATE=false"})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got := []any{c.GRPCPort, c.JWTTTL, c.Migrate}; cmp.Diff([]any{6000, 2 * time.Hour, false}, got) != "" {
		t.Errorf("overrides = %v", got)
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := config.Load([]string{"JWT_SECRET=short", "ALTUS_GRPC_PORT=0", "ALTUS_JWT_TTL=1s"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"JWT_SECRET", "ALTUS_GRPC_PORT", "ALTUS_JWT_TTL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestEncryptionKeyIsNotNeeded(t *testing.T) {
	if _, err := config.Load([]string{"JWT_SECRET=" + secret, "ENCRYPTION_KEY="}); err != nil {
		t.Errorf("load without ENCRYPTION_KEY: %v", err)
	}
}

func TestDevelopmentUsesPublicSecretWithWarning(t *testing.T) {
	c, err := config.Load([]string{"ALTUS_ENV=development"})
	if err != nil || len(c.Warnings) == 0 || c.Secrets.JWTSecret == "" {
		t.Errorf("development load = %v warnings, %v", c.Warnings, err)
	}
}
