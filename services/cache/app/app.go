// Package app is the wiring of the cache service (configuration, then
// dependencies, then servers, then run); its binary and the all-in-one
// binary (cmd/altus) both run it.
package app

import (
	"context"
	"os"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/lifecycle"
	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/services/cache/internal/cache"
	"github.com/altus4/altus/services/cache/internal/config"
	"github.com/altus4/altus/services/cache/internal/grpcapi"
	"github.com/altus4/altus/services/cache/internal/redisx"
)

// Run serves until ctx ends; it takes no arguments. env is the process's
// environment and tracing: its zero value is the process's own.
func Run(ctx context.Context, args []string, env process.Env) error {
	if err := process.NoArgs("cache", args); err != nil {
		return err
	}
	cfg, err := config.Load(env.Environ)
	if err != nil {
		return err
	}
	p, err := process.Start(ctx, process.Options{Service: "cache", Runtime: cfg.Runtime, DefaultAdminPort: config.DefaultAdminPort, Stdout: os.Stdout, AllInOne: env.AllInOne, Warnings: cfg.Warnings})
	if err != nil {
		return err
	}

	conn, err := redisx.Open(cfg.Redis, cfg.Topology, redisx.Options{ClientCacheBytes: cfg.ClientCacheMB << 20})
	if err != nil {
		return err
	}
	p.App.AddCloser("redis client", func(context.Context) error { conn.Close(); return nil })
	store := cache.NewFromSource(conn, cache.Options{Prefix: cfg.Redis.Prefix, Timeout: cfg.RedisTimeout, Log: p.Log})
	p.Registry.MustRegister(store.Collectors()...)

	srv := grpcx.NewServer(grpcx.ServerOptions{
		Logger:   p.Log,
		Registry: p.Registry,
		Signer:   identity.NewSigner(cfg.Secrets.JWTSecret),
	})
	cachev1.RegisterCacheServiceServer(srv, grpcapi.New(store))

	report := grpcapi.RedisHealthReporter(srv.Health)
	if err := store.Check(ctx); err != nil {
		p.Log.Warn("Redis is unavailable at start: serving degraded until it answers", "redis", conn.String(), "error", err.Error())
	} else {
		p.Log.Info("Redis is reachable", "redis", conn.String())
	}
	report(store.Up())
	p.App.AddServer(watcher(store, cfg, report))

	if err := p.ServeGRPC(srv, cfg.GRPCPort); err != nil {
		return err
	}
	return p.Run(ctx)
}

// watcher runs the Redis health check under the process lifecycle.
func watcher(store *cache.Store, cfg config.Config, report func(bool)) lifecycle.Server {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	return lifecycle.Server{
		Name: "redis health check every " + cfg.RedisCheckInterval.String(),
		Serve: func() error {
			defer close(done)
			return store.Watch(ctx, cfg.RedisCheckInterval, report)
		},
		Stop: func(stopCtx context.Context) {
			cancel()
			select {
			case <-done:
			case <-stopCtx.Done():
			}
		},
	}
}
