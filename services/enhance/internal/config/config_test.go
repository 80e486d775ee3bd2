package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/services/enhance/internal/config"
)

func TestDefaultsAreTheDocumentedOnes(t *testing.T) {
	c := config.Default()
	want := config.OpenAI{BaseURL: "https://api.openai.com/v1", Model: "gpt-4o-mini", EmbeddingModel: "text-embedding-3-small", Timeout: 10 * time.Second}
	if diff := cmp.Diff(want, c.OpenAI); diff != "" {
		t.Errorf("OpenAI defaults (-want +got):\n%s", diff)
	}
	wantAI := config.AI{RateLimit: 60, Concurrency: 4, QueueSize: 50, BreakerFailures: 5, BreakerCooldown: 30 * time.Second,
		FallbackReserve: 50 * time.Millisecond, CacheTimeout: 100 * time.Millisecond, EmbedCacheTTL: 24 * time.Hour, AnswerCacheTTL: time.Hour, MaxDocumentChars: 2000, SlowSource: time.Second}
	if diff := cmp.Diff(wantAI, c.AI); diff != "" {
		t.Errorf("AI defaults (-want +got):\n%s", diff)
	}
	if c.GRPCPort != 50053 || config.DefaultAdminPort != 9093 {
		t.Errorf("ports %d %d", c.GRPCPort, config.DefaultAdminPort)
	}
}

func TestLoadWithoutAPIKeyStartsUnconfiguredWithAWarning(t *testing.T) {
	c, err := config.Load([]string{"ALTUS_ENV=test", "JWT_SECRET=" + strings.Repeat("s", 32)})
	if err != nil {
		t.Fatal(err)
	}
	if c.OpenAI.Configured() {
		t.Error("configured without OPENAI_API_KEY")
	}
	if !strings.Contains(strings.Join(c.Warnings, "\n"), "OPENAI_API_KEY") {
		t.Errorf("warnings %q do not name OPENAI_API_KEY", c.Warnings)
	}
	c, err = config.Load([]string{"ALTUS_ENV=test", "JWT_SECRET=" + strings.Repeat("s", 32), "OPENAI_API_KEY=sk-test"})
	if err != nil || !c.OpenAI.Configured() {
		t.Errorf("with a key: configured %v, err %v", c.OpenAI.Configured(), err)
	}
}

func TestLoadReportsEveryProblemByVariable(t *testing.T) {
	_, err := config.Load([]string{
		"ALTUS_ENV=test", "JWT_SECRET=" + strings.Repeat("s", 32),
		"OPENAI_BASE_URL=ftp://x", "ALTUS_OPENAI_TIMEOUT=1ms",
		"ALTUS_AI_RATE_LIMIT=0", "ALTUS_AI_CONCURRENCY=0", "ALTUS_AI_QUEUE_SIZE=-1", "ALTUS_AI_BREAKER_FAILURES=0",
		"ALTUS_AI_BREAKER_COOLDOWN=1ms", "ALTUS_AI_FALLBACK_RESERVE=2s", "ALTUS_AI_CACHE_TIMEOUT=0s",
		"ALTUS_EMBED_CACHE_TTL=1s", "ALTUS_AI_MAX_DOCUMENT_CHARS=5", "ALTUS_AI_SLOW_SOURCE=0s",
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, v := range []string{"OPENAI_BASE_URL", "ALTUS_OPENAI_TIMEOUT", "ALTUS_AI_RATE_LIMIT",
		"ALTUS_AI_CONCURRENCY", "ALTUS_AI_QUEUE_SIZE", "ALTUS_AI_BREAKER_FAILURES", "ALTUS_AI_BREAKER_COOLDOWN", "ALTUS_AI_FALLBACK_RESERVE",
		"ALTUS_AI_CACHE_TIMEOUT", "ALTUS_EMBED_CACHE_TTL", "ALTUS_AI_MAX_DOCUMENT_CHARS", "ALTUS_AI_SLOW_SOURCE"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("the error does not name %s: %v", v, err)
		}
	}
}
