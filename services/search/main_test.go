package main

import (
	"context"
	"database/sql"
	"net"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/search/internal/events"
)

const jwtSecret = "main-test-secret-main-test-secret-0123"

// setEnv points the process configuration at a fresh database and free ports.
func setEnv(t *testing.T, dbrouterAddr string) (grpcPort int, db *sql.DB) {
	t.Helper()
	sqlDB, cfg := testenv.OpenDatabase(t)
	grpcPort = testenv.FreePort(t)
	if dbrouterAddr == "" {
		dbrouterAddr = "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	}
	for k, v := range map[string]string{
		"ALTUS_ENV":                         "test",
		"DB_HOST":                           cfg.Host,
		"DB_PORT":                           strconv.Itoa(cfg.Port),
		"DB_USERNAME":                       cfg.Username,
		"DB_PASSWORD":                       cfg.Password,
		"DB_DATABASE":                       cfg.Database,
		"JWT_SECRET":                        jwtSecret,
		"ALTUS_GRPC_PORT":                   strconv.Itoa(grpcPort),
		"ALTUS_ADMIN_PORT":                  strconv.Itoa(testenv.FreePort(t)),
		"ALTUS_DRAIN_DELAY":                 "0s",
		"ALTUS_DBROUTER_ADDR":               dbrouterAddr,
		"ALTUS_CACHE_ADDR":                  "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
		"ALTUS_ACCOUNT_ADDR":                "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
		"ALTUS_SEARCH_EVENT_FLUSH_INTERVAL": "1m",
		"LOG_LEVEL":                         "error",
	} {
		t.Setenv(k, v)
	}
	return grpcPort, sqlDB
}

func TestMigrateCommandAppliesMigrationsAndExits(t *testing.T) {
	_, db := setEnv(t, "")
	ctx := context.Background()
	if err := run(ctx, []string{"migrate"}); err != nil {
		t.Fatalf("search migrate: %v", err)
	}
	if n, err := migrate.Up(ctx, db, events.Service, events.Migrations(), nil); err != nil || n != 0 {
		t.Errorf("migrations left to apply = %d, %v; want 0", n, err)
	}
}

func TestUnknownArgumentsAreRefused(t *testing.T) {
	if err := run(context.Background(), []string{"serve", "now"}); err == nil {
		t.Error("run accepted unknown arguments")
	}
}

// noSources is a dbrouter whose users have no data source.
type noSources struct {
	dbrouterv1.UnimplementedDBRouterServiceServer
}

func (noSources) DescribeSources(context.Context, *dbrouterv1.DescribeSourcesRequest) (*dbrouterv1.DescribeSourcesResponse, error) {
	return &dbrouterv1.DescribeSourcesResponse{}, nil
}

func TestServeAnswersAndWritesQueuedEventsOnShutdown(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fake := grpc.NewServer()
	dbrouterv1.RegisterDBRouterServiceServer(fake, noSources{})
	go func() { _ = fake.Serve(lis) }()
	t.Cleanup(fake.Stop)

	port, db := setEnv(t, lis.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	conn := testenv.DialServing(t, ctx, port, searchv1.SearchService_ServiceDesc.ServiceName)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	client := searchv1.NewSearchServiceClient(conn)
	if _, err := client.Search(wctx, &searchv1.SearchRequest{Query: "pool"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("search without a caller: %v", err)
	}
	signer := identity.NewSigner(jwtSecret)
	as := metadata.AppendToOutgoingContext(wctx, identity.MetadataKey, signer.Sign(identity.Principal{UserID: "u1"}, time.Minute))
	for range 3 {
		resp, err := client.Search(as, &searchv1.SearchRequest{Query: "pool"})
		if err != nil || len(resp.GetNotices()) != 1 || resp.GetNotices()[0].GetCode() != "NO_DATABASES" {
			t.Fatalf("search = %v, %v", resp, err)
		}
	}
	// The events wait for a flush a minute away; stopping writes them.
	cancel()
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Errorf("run returned %v after cancellation, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after cancellation")
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM search_analytics WHERE user_id = 'u1'").Scan(&n); err != nil || n != 3 {
		t.Errorf("events written on shutdown = %d, %v; want 3", n, err)
	}
}
