// Command search serves altus.search.v1.SearchService: live full-text search
// over the users' registered databases, their search history and trends.
//
// Usage:
//
//	search            serve (applies pending migrations first unless ALTUS_MIGRATE=false)
//	search migrate    apply pending migrations and exit
package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"

	"github.com/altus4/altus/pkg/authn"
	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/pkg/telemetry"
	"github.com/altus4/altus/services/search/internal/cacheclient"
	"github.com/altus4/altus/services/search/internal/config"
	"github.com/altus4/altus/services/search/internal/dbrouterclient"
	"github.com/altus4/altus/services/search/internal/events"
	"github.com/altus4/altus/services/search/internal/grpcapi"
	"github.com/altus4/altus/services/search/internal/search"
	"github.com/altus4/altus/services/search/internal/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "search:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	// The process's gRPC buffer pool, set before any gRPC client or server
	// exists (the call is not safe later). gRPC's default pool has tiers of
	// 256 B, 4, 16 and 32 KiB and 1 MiB, and zeroes the whole capacity of a
	// buffer it hands out again: a page of 40 KiB (received from the cache,
	// sent to the gateway) cost a 1 MiB clear at each hop, most of a cache
	// hit's CPU. With a tier at every power of two from 256 B to 4 MiB a
	// buffer is at most twice its message.
	pool, err := mem.NewBinaryTieredBufferPool(8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22)
	if err != nil {
		return fmt.Errorf("grpc buffer pool: %w", err)
	}
	experimental.SetDefaultBufferPool(pool)

	migrateOnly := false
	switch {
	case len(args) == 0:
	case len(args) == 1 && args[0] == "migrate":
		migrateOnly = true
	default:
		return fmt.Errorf("unknown arguments %q: run `search` to serve or `search migrate` to apply migrations", args)
	}
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	if migrateOnly {
		log := telemetry.NewLogger(os.Stdout, cfg.Runtime.Level(), "search")
		db, err := openDatabase(ctx, cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		n, err := migrate.Up(ctx, db, events.Service, events.Migrations(), log)
		if err != nil {
			return err
		}
		log.Info("migrations applied", "count", n)
		return nil
	}

	p, err := process.Start(ctx, process.Options{Service: "search", Runtime: cfg.Runtime, DefaultAdminPort: config.DefaultAdminPort, Stdout: os.Stdout})
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		p.Log.Warn(w)
	}

	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	p.App.AddCloser("metadata database", func(context.Context) error { return db.Close() })
	if cfg.Migrate {
		if _, err := migrate.Up(ctx, db, events.Service, events.Migrations(), p.Log); err != nil {
			return err
		}
	}
	store := events.NewStore(db)
	recorder := events.NewRecorder(store, events.RecorderOptions{
		QueueSize: cfg.EventQueue, FlushInterval: cfg.EventFlushInterval, Registry: p.Registry, Log: p.Log,
	})
	// Registered after the database, so it closes (writing what is queued) before it.
	p.App.AddCloser("search event recorder", recorder.Close)

	accountConn, err := grpcx.Dial(cfg.Services.Account)
	if err != nil {
		return fmt.Errorf("account client: %w", err)
	}
	p.App.AddCloser("account client", func(context.Context) error { return accountConn.Close() })
	dbrouterConn, err := grpcx.Dial(cfg.Services.DBRouter)
	if err != nil {
		return fmt.Errorf("dbrouter client: %w", err)
	}
	p.App.AddCloser("dbrouter client", func(context.Context) error { return dbrouterConn.Close() })
	cacheConn, err := grpcx.Dial(cfg.Services.Cache)
	if err != nil {
		return fmt.Errorf("cache client: %w", err)
	}
	p.App.AddCloser("cache client", func(context.Context) error { return cacheConn.Close() })

	svc := search.New(search.Options{
		Sources:           dbrouterclient.New(dbrouterv1.NewDBRouterServiceClient(dbrouterConn)),
		Cache:             cacheclient.New(cachev1.NewCacheServiceClient(cacheConn)),
		Codec:             wire.Codec{},
		Events:            recorder,
		Store:             store,
		MaxWindow:         cfg.MaxWindow,
		RankWindow:        cfg.RankWindow,
		CountScanRows:     cfg.CountScanRows,
		CacheTTL:          cfg.CacheTTL,
		CacheTimeout:      cfg.CacheTimeout,
		SourceTimeout:     cfg.SourceTimeout,
		SuggestTimeout:    cfg.SuggestTimeout,
		DidYouMeanTimeout: cfg.DidYouMeanTimeout,
		Metrics:           search.NewMetrics(p.Registry),
		Log:               p.Log,
	})
	// Closed before the cache client: pending cache writes finish first.
	p.App.AddCloser("pending cache writes", func(context.Context) error { svc.Wait(); return nil })

	srv := grpcx.NewServer(grpcx.ServerOptions{
		Logger:        p.Log,
		Registry:      p.Registry,
		Signer:        identity.NewSigner(cfg.Secrets.JWTSecret),
		Authenticator: authn.New(accountv1.NewAccountServiceClient(accountConn), authn.DefaultTTL, authn.DefaultCacheSize),
	})
	searchv1.RegisterSearchServiceServer(srv, grpcapi.New(svc))
	if err := p.ServeGRPC(srv, cfg.GRPCPort); err != nil {
		return err
	}
	return p.Run(ctx)
}

// openDatabase creates the metadata database when missing and opens it.
func openDatabase(ctx context.Context, cfg config.Config) (*sql.DB, error) {
	dsn := cfg.MySQL.DSN()
	if err := migrate.EnsureDatabase(ctx, dsn); err != nil {
		return nil, err
	}
	return migrate.Open(ctx, dsn, cfg.MySQL.MaxOpenConns)
}
