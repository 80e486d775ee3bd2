package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/account/internal/config"
	"github.com/altus4/altus/services/account/internal/store"
)

// setEnv points the process configuration at a fresh database and free ports.
func setEnv(t *testing.T) (grpcPort int, database string) {
	t.Helper()
	db := testenv.Database(t)
	grpcPort = testenv.FreePort(t)
	for k, v := range map[string]string{
		"ALTUS_ENV":           "test",
		"DB_HOST":             db.Host,
		"DB_PORT":             strconv.Itoa(db.Port),
		"DB_USERNAME":         db.Username,
		"DB_PASSWORD":         db.Password,
		"DB_DATABASE":         db.Database,
		"JWT_SECRET":          "main-test-secret-main-test-secret-0123",
		"ALTUS_GRPC_PORT":     strconv.Itoa(grpcPort),
		"ALTUS_ADMIN_PORT":    strconv.Itoa(testenv.FreePort(t)),
		"ALTUS_DRAIN_DELAY":   "0s",
		"ALTUS_DBROUTER_ADDR": "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
		"ALTUS_CACHE_ADDR":    "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
		"LOG_LEVEL":           "error",
	} {
		t.Setenv(k, v)
	}
	return grpcPort, db.Database
}

func TestMigrateCommandAppliesMigrationsAndExits(t *testing.T) {
	setEnv(t)
	ctx := context.Background()
	if err := run(ctx, []string{"migrate"}); err != nil {
		t.Fatalf("account migrate: %v", err)
	}
	db, err := migrate.Open(ctx, mustDSN(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := migrate.Up(ctx, db, "account", store.Migrations(), nil); err != nil || n != 0 {
		t.Errorf("migrations left to apply = %d, %v; want 0", n, err)
	}
}

func TestUnknownArgumentsAreRefused(t *testing.T) {
	if err := run(context.Background(), []string{"serve", "now"}); err == nil {
		t.Error("run accepted unknown arguments")
	}
}

func TestServeMigratesAndAnswersUntilCancelled(t *testing.T) {
	port, _ := setEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	conn := testenv.DialServing(t, ctx, port, accountv1.AccountService_ServiceDesc.ServiceName)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	// dbrouter is not running: registration still succeeds, with no databases.
	r, err := accountv1.NewAccountServiceClient(conn).Register(wctx, &accountv1.RegisterRequest{Email: "main@example.com", Password: "password-123", Name: "Main"})
	if err != nil || r.GetToken() == "" || len(r.GetUser().GetConnectedDatabases()) != 0 {
		t.Fatalf("register = %v, %v", r, err)
	}
	cancel()
	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Errorf("run returned %v after cancellation, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after cancellation")
	}
}

func mustDSN(t *testing.T) string {
	t.Helper()
	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.MySQL.DSN()
}
