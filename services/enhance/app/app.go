// Package app is the wiring of the enhance service (configuration, then
// dependencies, then servers, then run); its binary and the all-in-one
// binary (cmd/altus) both run it.
package app

import (
	"context"
	"fmt"
	"os"

	"github.com/altus4/altus/pkg/authn"
	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/services/enhance/internal/cacheclient"
	"github.com/altus4/altus/services/enhance/internal/config"
	"github.com/altus4/altus/services/enhance/internal/enhance"
	"github.com/altus4/altus/services/enhance/internal/grpcapi"
	"github.com/altus4/altus/services/enhance/internal/openaiclient"
)

// Run serves until ctx ends; it takes no arguments. env is the process's
// environment and tracing: its zero value is the process's own.
func Run(ctx context.Context, args []string, env process.Env) error {
	if err := process.NoArgs("enhance", args); err != nil {
		return err
	}
	cfg, err := config.Load(env.Environ)
	if err != nil {
		return err
	}
	p, err := process.Start(ctx, process.Options{Service: "enhance", Runtime: cfg.Runtime, DefaultAdminPort: config.DefaultAdminPort, Stdout: os.Stdout, AllInOne: env.AllInOne, Warnings: cfg.Warnings})
	if err != nil {
		return err
	}

	accountConn, err := grpcx.Dial(cfg.Services.Account)
	if err != nil {
		return fmt.Errorf("account client: %w", err)
	}
	p.App.AddCloser("account client", func(context.Context) error { return accountConn.Close() })

	cacheConn, err := grpcx.Dial(cfg.Services.Cache)
	if err != nil {
		return fmt.Errorf("cache client: %w", err)
	}
	p.App.AddCloser("cache client", func(context.Context) error { return cacheConn.Close() })
	cache := cacheclient.New(cachev1.NewCacheServiceClient(cacheConn))

	opts := enhance.Options{
		Shared:           cache,
		Cache:            cache,
		RateLimit:        cfg.AI.RateLimit,
		Concurrency:      cfg.AI.Concurrency,
		QueueSize:        cfg.AI.QueueSize,
		BreakerFailures:  cfg.AI.BreakerFailures,
		BreakerCooldown:  cfg.AI.BreakerCooldown,
		Timeout:          cfg.OpenAI.Timeout,
		FallbackReserve:  cfg.AI.FallbackReserve,
		CacheTimeout:     cfg.AI.CacheTimeout,
		EmbedCacheTTL:    cfg.AI.EmbedCacheTTL,
		AnswerCacheTTL:   cfg.AI.AnswerCacheTTL,
		MaxDocumentChars: cfg.AI.MaxDocumentChars,
		SlowSource:       cfg.AI.SlowSource,
		Metrics:          enhance.NewMetrics(p.Registry),
		Log:              p.Log,
	}
	if cfg.OpenAI.Configured() {
		opts.Provider = openaiclient.New(openaiclient.Options{
			APIKey: cfg.OpenAI.APIKey, BaseURL: cfg.OpenAI.BaseURL, Model: cfg.OpenAI.Model, EmbeddingModel: cfg.OpenAI.EmbeddingModel,
		})
	}
	svc := enhance.New(opts)

	srv := grpcx.NewServer(grpcx.ServerOptions{
		Logger:        p.Log,
		Registry:      p.Registry,
		Signer:        identity.NewSigner(cfg.Secrets.JWTSecret),
		Authenticator: authn.New(accountv1.NewAccountServiceClient(accountConn), authn.DefaultTTL, authn.DefaultCacheSize),
	})
	enhancev1.RegisterEnhanceServiceServer(srv, grpcapi.New(svc))
	if err := p.ServeGRPC(srv, cfg.GRPCPort); err != nil {
		return err
	}
	return p.Run(ctx)
}
