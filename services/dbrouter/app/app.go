// Package app is the wiring of the dbrouter service (configuration, then
// dependencies, then servers, then run); its binary and the all-in-one
// binary (cmd/altus) both run it.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/altus4/altus/pkg/authn"
	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/lifecycle"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/pkg/telemetry"
	"github.com/altus4/altus/services/dbrouter/internal/cacheclient"
	"github.com/altus4/altus/services/dbrouter/internal/config"
	"github.com/altus4/altus/services/dbrouter/internal/credential"
	"github.com/altus4/altus/services/dbrouter/internal/datasource"
	"github.com/altus4/altus/services/dbrouter/internal/fulltext"
	"github.com/altus4/altus/services/dbrouter/internal/grpcapi"
	"github.com/altus4/altus/services/dbrouter/internal/migrations"
	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/store"
)

// Run serves until ctx ends, or with the argument "migrate" applies the
// service's migrations and returns. env is the process's environment,
// and tracing: its zero value is the process's own.
func Run(ctx context.Context, args []string, env process.Env) error {
	migrateOnly, err := process.MigrateOnly("dbrouter", args)
	if err != nil {
		return err
	}
	cfg, err := config.Load(env.Environ)
	if err != nil {
		return err
	}
	if migrateOnly {
		return migrate.Command(ctx, cfg.MySQL, telemetry.NewLogger(os.Stdout, cfg.Runtime.Level(), "dbrouter"), migrations.Service, migrations.FS)
	}

	p, err := process.Start(ctx, process.Options{Service: "dbrouter", Runtime: cfg.Runtime, DefaultAdminPort: config.DefaultAdminPort, Stdout: os.Stdout, AllInOne: env.AllInOne, Warnings: cfg.Warnings})
	if err != nil {
		return err
	}

	db, err := p.MetadataDatabase(ctx, cfg.MySQL, cfg.Migrate, migrations.FS)
	if err != nil {
		return err
	}

	cipher, err := credential.New(cfg.Secrets.EncryptionKeyBytes())
	if err != nil {
		return err
	}
	schemas := schema.NewCache(schema.CacheOptions{TTL: cfg.SchemaTTL, Log: p.Log})
	// Closers run in reverse: the pools close first, then pending schema
	// refreshes (which fail fast on closed pools) are waited for.
	p.App.AddCloser("schema refreshes", func(ctx context.Context) error { return waitCtx(ctx, schemas.Wait) })
	pools := pool.NewManager(pool.Options{
		MaxSize:        int32(cfg.Sources.EffectivePoolSize()),
		AcquireTimeout: cfg.Sources.AcquireTimeout,
		IdleTimeout:    cfg.Sources.IdleTimeout,
		TLSSkipVerify:  cfg.Sources.TLSSkipVerify,
		Logger:         p.Log,
	})
	pools.SetReplicaOptions(pool.ReplicaOptions{CheckInterval: cfg.Sources.ReplicaCheckInterval, MaxLag: cfg.Sources.ReplicaMaxLag})
	p.Log.Info("data source pools", "pool_size", cfg.Sources.EffectivePoolSize(), "max_concurrency", cfg.SourceConcurrency())
	if err := pools.Register(p.Registry); err != nil {
		return err
	}
	p.App.AddCloser("data source pools", pools.Close)

	cacheConn, err := grpcx.Dial(cfg.Services.Cache)
	if err != nil {
		return fmt.Errorf("cache client: %w", err)
	}
	p.App.AddCloser("cache client", func(context.Context) error { return cacheConn.Close() })

	svc, err := datasource.New(datasource.Options{
		Store: store.New(db), Cipher: cipher, Pools: pools, Schemas: schemas, Log: p.Log,
		Bumper:    cacheclient.New(cachev1.NewCacheServiceClient(cacheConn)),
		LookupTTL: cfg.Sources.LookupTTL,
	})
	if err != nil {
		return err
	}
	if err := svc.Register(p.Registry); err != nil {
		return err
	}
	exec, err := fulltext.New(fulltext.Options{
		Sources:          svc,
		MaxValueChars:    cfg.Search.MaxValueChars,
		StatementTimeout: cfg.Search.StatementTimeout,
		CountBudget:      cfg.Search.CountBudget,
		MaxConcurrency:   cfg.SourceConcurrency(),
		Log:              p.Log,
	})
	if err != nil {
		return err
	}
	if err := exec.Register(p.Registry); err != nil {
		return err
	}

	accountConn, err := grpcx.Dial(cfg.Services.Account)
	if err != nil {
		return fmt.Errorf("account client: %w", err)
	}
	p.App.AddCloser("account client", func(context.Context) error { return accountConn.Close() })

	srv := grpcx.NewServer(grpcx.ServerOptions{
		Logger:        p.Log,
		Registry:      p.Registry,
		Signer:        identity.NewSigner(cfg.Secrets.JWTSecret),
		Authenticator: authn.New(accountv1.NewAccountServiceClient(accountConn), authn.DefaultTTL, authn.DefaultCacheSize),
	})
	dbrouterv1.RegisterDBRouterServiceServer(srv, grpcapi.New(svc, exec))
	if err := p.ServeGRPC(srv, cfg.GRPCPort); err != nil {
		return err
	}
	p.App.AddServer(sweeper(svc, cfg, p.Log))
	return p.Run(ctx)
}

// sweeper closes, beside the servers, the pools of sources changed or
// deleted through other replicas.
func sweeper(svc *datasource.Service, cfg config.Config, log *slog.Logger) lifecycle.Server {
	ctx, cancel := context.WithCancel(context.Background())
	return lifecycle.Server{
		Name: "data source sweeper",
		Serve: func() error {
			svc.RunSweeper(ctx, cfg.Sources.SweepInterval)
			log.Info("data source sweeper stopped")
			return nil
		},
		Stop: func(context.Context) { cancel() },
	}
}

// waitCtx runs wait and returns when it does or when ctx ends.
func waitCtx(ctx context.Context, wait func()) error {
	done := make(chan struct{})
	go func() {
		wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
