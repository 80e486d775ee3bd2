// Package app is the wiring of the gateway service (configuration, then
// dependencies, then servers, then run); its binary and the all-in-one
// binary (cmd/altus) both run it.
package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"

	"github.com/altus4/altus/gateway/internal/config"
	"github.com/altus4/altus/gateway/internal/edgehits"
	"github.com/altus4/altus/gateway/internal/health"
	"github.com/altus4/altus/gateway/internal/openapi"
	"github.com/altus4/altus/gateway/internal/ratelimit"
	"github.com/altus4/altus/gateway/internal/rest"
	"github.com/altus4/altus/gateway/internal/usage"
	"github.com/altus4/altus/pkg/authn"
	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/lifecycle"
	"github.com/altus4/altus/pkg/process"
)

// searchReads are the search service's read-only methods: a call of one
// that fails with a transport UNAVAILABLE (a replica stopped or went away
// mid-call) is retried on another replica. RecordClick is left out: it
// writes.
var searchReads = []string{
	"altus.search.v1.SearchService/Search",
	"altus.search.v1.SearchService/GetSuggestions",
	"altus.search.v1.SearchService/Analyze",
	"altus.search.v1.SearchService/GetTrends",
	"altus.search.v1.SearchService/GetHistory",
	"altus.search.v1.AnalyticsService",
}

// Run serves until ctx ends; it takes no arguments. env is the process's
// environment and tracing: its zero value is the process's own.
func Run(ctx context.Context, args []string, env process.Env) error {
	if err := process.NoArgs("gateway", args); err != nil {
		return err
	}
	cfg, err := config.Load(env.Environ)
	if err != nil {
		return err
	}
	p, err := process.Start(ctx, process.Options{Service: "gateway", Runtime: cfg.Runtime, DefaultAdminPort: config.DefaultAdminPort, Stdout: os.Stdout, AllInOne: env.AllInOne, Warnings: cfg.Warnings})
	if err != nil {
		return err
	}

	conns := map[string]*grpc.ClientConn{}
	for _, s := range []struct{ name, addr string }{
		{"account", cfg.Services.Account},
		{"dbrouter", cfg.Services.DBRouter},
		{"search", cfg.Services.Search},
		{"cache", cfg.Services.Cache},
		{"enhance", cfg.Services.Enhance},
	} {
		var opts []grpc.DialOption
		if s.name == "search" {
			opts = append(opts, grpcx.RetryUnavailable(searchReads...))
		}
		conn, err := grpcx.Dial(s.addr, opts...)
		if err != nil {
			return fmt.Errorf("%s client: %w", s.name, err)
		}
		conns[s.name] = conn
		p.App.AddCloser(s.name+" client", func(context.Context) error { return conn.Close() })
	}

	account := accountv1.NewAccountServiceClient(conns["account"])
	limiter := ratelimit.New(cachev1.NewCacheServiceClient(conns["cache"]), 300*time.Millisecond, time.Second, p.Registry)
	recorder := usage.New(account, cfg.UsageFlushInterval, p.Log)
	checker := health.New([]health.Dependency{
		{Name: "account", Conn: conns["account"], Required: true},
		{Name: "dbrouter", Conn: conns["dbrouter"], Required: true},
		{Name: "search", Conn: conns["search"], Required: true},
		{Name: "cache", Conn: conns["cache"], Required: true},
		{Name: "enhance", Conn: conns["enhance"]},
		{Name: "redis", Conn: conns["cache"], Service: "redis"},
	}, cfg.HealthInterval, cfg.Runtime.Env, func() map[string]string {
		mode := "redis"
		if limiter.Degraded() {
			mode = "degraded"
		}
		return map[string]string{"rateLimiting": mode}
	}, p.Registry)

	var edge *edgehits.Reporter
	if cfg.EdgeCache {
		edge = edgehits.New(searchv1.NewSearchServiceClient(conns["search"]), cfg.EdgeReportInterval, 0, p.Log, p.Registry)
	}
	handler, err := rest.New(ctx, rest.Options{
		Config:        cfg,
		Logger:        p.Log,
		Registry:      p.Registry,
		Signer:        identity.NewSigner(cfg.Secrets.JWTSecret),
		Authenticator: authn.New(account, cfg.AuthCacheTTL, authn.DefaultCacheSize),
		Limiter:       limiter,
		Usage:         recorder,
		Health:        checker,
		OpenAPI:       openapi.Document,
		Account:       conns["account"],
		DBRouter:      conns["dbrouter"],
		Search:        conns["search"],
		EdgeHits:      edgeRecorder(edge),
		EdgePageBytes: cfg.EdgePagesMB << 20,
	})
	if err != nil {
		return err
	}
	p.App.OnDrain(checker.Drain)
	p.App.AddServer(lifecycle.Server{Name: "health poller", Serve: checker.Serve, Stop: checker.Stop})
	p.App.AddServer(lifecycle.Server{Name: "usage recorder", Serve: recorder.Serve, Stop: recorder.Stop})
	if edge != nil {
		p.App.AddServer(lifecycle.Server{Name: "edge search recorder", Serve: edge.Serve, Stop: edge.Stop})
	}
	if err := p.ServeHTTP("REST", handler, cfg.Port); err != nil {
		return err
	}
	return p.Run(ctx)
}

// edgeRecorder keeps a nil reporter a nil interface (the edge then answers
// no search itself).
func edgeRecorder(r *edgehits.Reporter) rest.EdgeRecorder {
	if r == nil {
		return nil
	}
	return r
}
