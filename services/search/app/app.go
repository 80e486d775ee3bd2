// Package app is the wiring of the search service (configuration, then
// dependencies, then servers, then run); its binary and the all-in-one
// binary (cmd/altus) both run it.
package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/altus4/altus/pkg/authn"
	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/pkg/telemetry"
	"github.com/altus4/altus/services/search/internal/analytics"
	"github.com/altus4/altus/services/search/internal/cacheclient"
	"github.com/altus4/altus/services/search/internal/config"
	"github.com/altus4/altus/services/search/internal/dbrouterclient"
	"github.com/altus4/altus/services/search/internal/enhanceclient"
	"github.com/altus4/altus/services/search/internal/events"
	"github.com/altus4/altus/services/search/internal/grpcapi"
	"github.com/altus4/altus/services/search/internal/insightsclient"
	"github.com/altus4/altus/services/search/internal/search"
	"github.com/altus4/altus/services/search/internal/usersclient"
	"github.com/altus4/altus/services/search/internal/wire"
)

// Run serves until ctx ends, or with the argument "migrate" applies the
// service's migrations and returns. env is the process's environment,
// and tracing: its zero value is the process's own.
func Run(ctx context.Context, args []string, env process.Env) error {
	migrateOnly, err := process.MigrateOnly("search", args)
	if err != nil {
		return err
	}
	cfg, err := config.Load(env.Environ)
	if err != nil {
		return err
	}
	if migrateOnly {
		return migrate.Command(ctx, cfg.MySQL, telemetry.NewLogger(os.Stdout, cfg.Runtime.Level(), "search"), events.Service, events.Migrations())
	}

	p, err := process.Start(ctx, process.Options{Service: "search", Runtime: cfg.Runtime, DefaultAdminPort: config.DefaultAdminPort, Stdout: os.Stdout, AllInOne: env.AllInOne, Warnings: cfg.Warnings})
	if err != nil {
		return err
	}

	db, err := p.MetadataDatabase(ctx, cfg.MySQL, cfg.Migrate, events.Migrations())
	if err != nil {
		return err
	}
	// History and report reads may go to a metadata replica; writes stay on the primary.
	replicas, err := p.MetadataReplicas(ctx, cfg.MySQL, db)
	if err != nil {
		return err
	}
	store := events.NewSplitStore(db, replicas)
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
	enhanceConn, err := grpcx.Dial(cfg.Services.Enhance)
	if err != nil {
		return fmt.Errorf("enhance client: %w", err)
	}
	p.App.AddCloser("enhance client", func(context.Context) error { return enhanceConn.Close() })

	reports := analytics.New(analytics.Options{
		Store: store, Pending: recorder, Log: p.Log,
		// A search another replica (or the edge) answered is written
		// within its flush interval, plus the edge's report interval.
		ClickWait: cfg.EventFlushInterval + 500*time.Millisecond,
		Insights:  insightsclient.New(enhancev1.NewEnhanceServiceClient(enhanceConn)),
		Users:     usersclient.New(accountv1.NewAccountServiceClient(accountConn)),
	})

	svc := search.New(search.Options{
		Sources:              dbrouterclient.New(dbrouterv1.NewDBRouterServiceClient(dbrouterConn)),
		Cache:                cacheclient.New(cachev1.NewCacheServiceClient(cacheConn)),
		Codec:                wire.Codec{},
		Events:               recorder,
		Store:                store,
		MaxWindow:            cfg.MaxWindow,
		RankWindow:           cfg.RankWindow,
		CountScanRows:        cfg.CountScanRows,
		EagerSearches:        eagerSearches(cfg.EagerSearches),
		CacheTTL:             cfg.CacheTTL,
		CacheTimeout:         cfg.CacheTimeout,
		SourceTimeout:        cfg.SourceTimeout,
		ExpansionModeTimeout: cfg.ExpansionModeTimeout,
		ExpansionRetry:       expansionRetry(cfg.ExpansionRetry),
		SuggestTimeout:       cfg.SuggestTimeout,
		DidYouMeanTimeout:    cfg.DidYouMeanTimeout,
		Enhance: search.EnhanceOptions{
			Enhancer: enhanceclient.New(enhancev1.NewEnhanceServiceClient(enhanceConn)),
			Budget:   cfg.EnhanceBudget, EmbedBudget: cfg.SemanticBudget, FallbackCacheTTL: cfg.FallbackCacheTTL,
			ExpansionTimeout: cfg.ExpansionTimeout,
			SemanticWindow:   cfg.SemanticWindow, SemanticCandidates: cfg.SemanticCandidates,
		},
		Metrics: search.NewMetrics(p.Registry),
		Log:     p.Log,
	})
	// Closed before the cache client: pending cache writes finish first.
	p.App.AddCloser("pending cache writes", func(context.Context) error { svc.Wait(); return nil })

	signer := identity.NewSigner(cfg.Secrets.JWTSecret)
	srv := grpcx.NewServer(grpcx.ServerOptions{
		Logger:        p.Log,
		Registry:      p.Registry,
		Signer:        signer,
		Authenticator: authn.New(accountv1.NewAccountServiceClient(accountConn), authn.DefaultTTL, authn.DefaultCacheSize),
	})
	searchv1.RegisterSearchServiceServer(srv, grpcapi.New(svc).WithClicks(reports).WithEdgeHits(signer))
	searchv1.RegisterAnalyticsServiceServer(srv, grpcapi.NewAnalytics(reports))
	if err := p.ServeGRPC(srv, cfg.GRPCPort); err != nil {
		return err
	}
	return p.Run(ctx)
}

// eagerSearches maps ALTUS_SEARCH_EAGER_SEARCHES (0: never) to
// search.Options (negative: never).
func eagerSearches(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// expansionRetry maps ALTUS_SEARCH_EXPANSION_RETRY to search.Options: 0
// there means expansion is tried every time (negative in the options).
func expansionRetry(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
