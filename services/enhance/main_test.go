package main

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/enhance/internal/enhance"
	"github.com/altus4/altus/services/enhance/internal/providertest"
)

// setEnv points the process at free ports; the cache service's address has
// nothing listening, as when it is down.
func setEnv(t *testing.T, extra map[string]string) (grpcPort, adminPort int) {
	t.Helper()
	grpcPort, adminPort = testenv.FreePort(t), testenv.FreePort(t)
	env := map[string]string{
		"ALTUS_ENV":              "test",
		"JWT_SECRET":             "main-test-secret-main-test-secret-0123",
		"ALTUS_GRPC_PORT":        strconv.Itoa(grpcPort),
		"ALTUS_ADMIN_PORT":       strconv.Itoa(adminPort),
		"ALTUS_DRAIN_DELAY":      "0s",
		"ALTUS_CACHE_ADDR":       "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
		"ALTUS_ACCOUNT_ADDR":     "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
		"ALTUS_AI_CACHE_TIMEOUT": "50ms",
		"OPENAI_API_KEY":         "",
		"LOG_LEVEL":              "error",
	}
	for k, v := range extra {
		env[k] = v
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	return grpcPort, adminPort
}

func serve(t *testing.T, grpcPort int) enhancev1.EnhanceServiceClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v after cancellation", err)
		}
	})
	return enhancev1.NewEnhanceServiceClient(testenv.DialServing(t, ctx, grpcPort, enhancev1.EnhanceService_ServiceDesc.ServiceName))
}

func TestUnknownArgumentsAreRefused(t *testing.T) {
	if err := run(context.Background(), []string{"serve"}); err == nil {
		t.Error("run accepted unknown arguments")
	}
}

func TestServesFromTheFallbackWithoutAnAPIKeyAndExposesMetrics(t *testing.T) {
	grpcPort, adminPort := setEnv(t, nil)
	c := serve(t, grpcPort)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.OptimizeQuery(ctx, &enhancev1.OptimizeQueryRequest{Query: "cheap laptops"})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetOrigin().GetReason() != "not_configured" || r.GetIntent() != "transactional" {
		t.Errorf("origin %v intent %q", r.GetOrigin(), r.GetIntent())
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(adminPort) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, m := range []string{enhance.MetricBreakerState, enhance.MetricQueueDepth, enhance.MetricTokens, enhance.MetricFallbacks + `{capability="optimize_query",reason="not_configured"} 1`} {
		if !strings.Contains(string(body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func TestWithTheCacheServiceDownTheProviderStillAnswers(t *testing.T) {
	srv := providertest.New(t)
	grpcPort, _ := setEnv(t, map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.BaseURL()})
	c := serve(t, grpcPort)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Embed(ctx, &enhancev1.EmbedRequest{Texts: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetOrigin().GetSource() != "provider" || r.GetOrigin().GetModel() != "text-embedding-3-small" || r.GetCached() != 0 {
		t.Errorf("origin %v cached %d", r.GetOrigin(), r.GetCached())
	}
	o, err := c.OptimizeQuery(ctx, &enhancev1.OptimizeQueryRequest{Query: "redis"})
	if err != nil || o.GetOrigin().GetSource() != "provider" || o.GetOrigin().GetModel() != "gpt-4o-mini" {
		t.Errorf("optimize: %v %v", o.GetOrigin(), err)
	}
}
