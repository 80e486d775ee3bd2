package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/dbrouter/internal/config"
	"github.com/altus4/altus/services/dbrouter/internal/migrations"
)

const jwtSecret = "main-test-secret-main-test-secret-0123"

// setEnv points the process configuration at a fresh database and free ports.
func setEnv(t *testing.T) (grpcPort int) {
	t.Helper()
	db := testenv.Database(t)
	grpcPort = testenv.FreePort(t)
	for k, v := range map[string]string{
		"ALTUS_ENV":          "test",
		"DB_HOST":            db.Host,
		"DB_PORT":            strconv.Itoa(db.Port),
		"DB_USERNAME":        db.Username,
		"DB_PASSWORD":        db.Password,
		"DB_DATABASE":        db.Database,
		"JWT_SECRET":         jwtSecret,
		"ENCRYPTION_KEY":     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"ALTUS_GRPC_PORT":    strconv.Itoa(grpcPort),
		"ALTUS_ADMIN_PORT":   strconv.Itoa(testenv.FreePort(t)),
		"ALTUS_DRAIN_DELAY":  "0s",
		"ALTUS_ACCOUNT_ADDR": "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
		"LOG_LEVEL":          "error",
	} {
		t.Setenv(k, v)
	}
	return grpcPort
}

func TestMigrateCommandAppliesMigrationsAndExits(t *testing.T) {
	setEnv(t)
	ctx := context.Background()
	if err := run(ctx, []string{"migrate"}); err != nil {
		t.Fatalf("dbrouter migrate: %v", err)
	}
	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := migrate.Open(ctx, cfg.MySQL.DSN(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := migrate.Up(ctx, db, migrations.Service, migrations.FS, nil); err != nil || n != 0 {
		t.Errorf("migrations left to apply = %d, %v; want 0", n, err)
	}
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'data_sources'").Scan(&tables); err != nil || tables != 1 {
		t.Errorf("data_sources tables = %d, %v; want 1", tables, err)
	}
}

func TestUnknownArgumentsAreRefused(t *testing.T) {
	if err := run(context.Background(), []string{"serve", "now"}); err == nil {
		t.Error("run accepted unknown arguments")
	}
}

func TestServeMigratesAndAnswersUntilCancelled(t *testing.T) {
	port := setEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	conn := testenv.DialServing(t, ctx, port, dbrouterv1.DBRouterService_ServiceDesc.ServiceName)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	assertion := identity.NewSigner(jwtSecret).Sign(identity.Principal{UserID: "main-user", Role: identity.RoleUser}, time.Minute)
	list, err := dbrouterv1.NewDBRouterServiceClient(conn).ListDataSources(
		metadata.AppendToOutgoingContext(wctx, identity.MetadataKey, assertion), &dbrouterv1.ListDataSourcesRequest{})
	if err != nil || len(list.GetConnections()) != 0 {
		t.Fatalf("list = %v, %v; want an empty list", list, err)
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
