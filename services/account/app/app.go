// Package app is the wiring of the account service (configuration, then
// dependencies, then servers, then run); its binary and the all-in-one
// binary (cmd/altus) both run it.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/lifecycle"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/pkg/telemetry"
	"github.com/altus4/altus/services/account/internal/account"
	"github.com/altus4/altus/services/account/internal/cacheclient"
	"github.com/altus4/altus/services/account/internal/config"
	"github.com/altus4/altus/services/account/internal/dbrouterclient"
	"github.com/altus4/altus/services/account/internal/grpcapi"
	"github.com/altus4/altus/services/account/internal/store"
)

// pruneEvery is how often expired sessions are deleted.
const pruneEvery = time.Hour

// Run serves until ctx ends, or with the argument "migrate" applies the
// service's migrations and returns. env is the process's environment,
// and tracing: its zero value is the process's own.
func Run(ctx context.Context, args []string, env process.Env) error {
	migrateOnly, err := process.MigrateOnly("account", args)
	if err != nil {
		return err
	}
	cfg, err := config.Load(env.Environ)
	if err != nil {
		return err
	}
	if migrateOnly {
		return migrate.Command(ctx, cfg.MySQL, telemetry.NewLogger(os.Stdout, cfg.Runtime.Level(), "account"), "account", store.Migrations())
	}

	p, err := process.Start(ctx, process.Options{Service: "account", Runtime: cfg.Runtime, DefaultAdminPort: config.DefaultAdminPort, Stdout: os.Stdout, AllInOne: env.AllInOne, Warnings: cfg.Warnings})
	if err != nil {
		return err
	}

	db, err := p.MetadataDatabase(ctx, cfg.MySQL, cfg.Migrate, store.Migrations())
	if err != nil {
		return err
	}

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

	signer := identity.NewSigner(cfg.Secrets.JWTSecret)
	svc, err := account.New(account.Options{
		Store:       store.New(db),
		Secret:      cfg.Secrets.JWTSecret,
		Signer:      signer,
		TokenTTL:    cfg.JWTTTL,
		DataSources: dbrouterclient.New(dbrouterv1.NewDBRouterServiceClient(dbrouterConn)),
		RateLimits:  cacheclient.New(cachev1.NewCacheServiceClient(cacheConn)),
		Log:         p.Log,
	})
	if err != nil {
		return err
	}

	srv := grpcx.NewServer(grpcx.ServerOptions{
		Logger:        p.Log,
		Registry:      p.Registry,
		Signer:        signer,
		Authenticator: grpcapi.NewAuthenticator(svc, p.Log),
	})
	accountv1.RegisterAccountServiceServer(srv, grpcapi.New(svc))
	if err := p.ServeGRPC(srv, cfg.GRPCPort); err != nil {
		return err
	}
	p.App.AddServer(pruner(svc, p.Log))
	return p.Run(ctx)
}

// pruner runs the hourly deletion of expired sessions beside the servers.
func pruner(svc *account.Service, log *slog.Logger) lifecycle.Server {
	ctx, cancel := context.WithCancel(context.Background())
	return lifecycle.Server{
		Name: "session pruner",
		Serve: func() error {
			svc.RunPruner(ctx, pruneEvery)
			log.Info("session pruner stopped")
			return nil
		},
		Stop: func(context.Context) { cancel() },
	}
}
