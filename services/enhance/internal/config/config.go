// Package config is the enhance service's configuration.
package config

import (
	"net/url"
	"time"

	shared "github.com/altus4/altus/pkg/config"
)

// Config is everything the enhance service reads from its environment.
type Config struct {
	Runtime  shared.Runtime
	Secrets  shared.Secrets
	Services shared.Services
	OpenAI   OpenAI
	AI       AI
	// GRPCPort is the port of the EnhanceService.
	GRPCPort int `env:"ALTUS_GRPC_PORT" envDefault:"50053"`
	// Warnings are non-fatal remarks of Validate, to be logged at start.
	Warnings []string `env:"-"`
}

// OpenAI is the OpenAI-compatible provider. Without an API key the provider
// is not configured and every capability answers from its local fallback.
type OpenAI struct {
	// APIKey authenticates to the provider; empty means not configured.
	APIKey string `env:"OPENAI_API_KEY"`
	// BaseURL is the API's root, e.g. https://api.openai.com/v1 or a
	// compatible server's.
	BaseURL string `env:"OPENAI_BASE_URL" envDefault:"https://api.openai.com/v1"`
	// Model answers chat completions (structured outputs).
	Model string `env:"OPENAI_MODEL" envDefault:"gpt-4o-mini"`
	// EmbeddingModel computes embeddings.
	EmbeddingModel string `env:"OPENAI_EMBEDDING_MODEL" envDefault:"text-embedding-3-small"`
	// Timeout bounds one provider call (less when the caller's deadline is nearer).
	Timeout time.Duration `env:"ALTUS_OPENAI_TIMEOUT" envDefault:"10s"`
}

// Configured reports whether a provider is configured.
func (o OpenAI) Configured() bool { return o.APIKey != "" }

// AI are the protections around the provider and the bounds of the fallbacks.
type AI struct {
	// RateLimit is the provider calls allowed per minute, by a token bucket
	// in each replica and by a window shared through the cache service.
	RateLimit int `env:"ALTUS_AI_RATE_LIMIT" envDefault:"60"`
	// Concurrency is how many provider calls run at once per replica.
	Concurrency int `env:"ALTUS_AI_CONCURRENCY" envDefault:"4"`
	// QueueSize is how many calls may wait for a worker; beyond it calls
	// are shed at once (fallback "queue_full").
	QueueSize int `env:"ALTUS_AI_QUEUE_SIZE" envDefault:"50"`
	// BreakerFailures is how many consecutive provider failures open the circuit.
	BreakerFailures int `env:"ALTUS_AI_BREAKER_FAILURES" envDefault:"5"`
	// BreakerCooldown is how long the circuit stays open before one trial call.
	BreakerCooldown time.Duration `env:"ALTUS_AI_BREAKER_COOLDOWN" envDefault:"30s"`
	// FallbackReserve is kept from the caller's deadline to compute the fallback.
	FallbackReserve time.Duration `env:"ALTUS_AI_FALLBACK_RESERVE" envDefault:"50ms"`
	// CacheTimeout bounds each call to the cache service (shared limit, embeddings).
	CacheTimeout time.Duration `env:"ALTUS_AI_CACHE_TIMEOUT" envDefault:"100ms"`
	// EmbedCacheTTL is how long a provider embedding stays in the cache.
	EmbedCacheTTL time.Duration `env:"ALTUS_EMBED_CACHE_TTL" envDefault:"24h"`
	// AnswerCacheTTL is how long a provider's structured answer stays cached
	// under the hash of its request.
	AnswerCacheTTL time.Duration `env:"ALTUS_AI_ANSWER_CACHE_TTL" envDefault:"1h"`
	// MaxDocumentChars cuts each document's text before it is sent to the provider.
	MaxDocumentChars int `env:"ALTUS_AI_MAX_DOCUMENT_CHARS" envDefault:"2000"`
	// SlowSource is the p95 latency above which an insight calls a source slow.
	SlowSource time.Duration `env:"ALTUS_AI_SLOW_SOURCE" envDefault:"1s"`
}

// DefaultAdminPort is where /metrics is served unless ALTUS_ADMIN_PORT says otherwise.
const DefaultAdminPort = 9093

// Default returns the configuration with every default applied.
func Default() Config { return shared.Defaults[Config]() }

// Load reads the configuration from environ (os.Environ() form; nil means
// the process environment) and checks it, reporting every problem at once.
func Load(environ []string) (Config, error) { return shared.Load[Config](environ) }

// Validate checks the configuration and reports every problem in one error.
func (c *Config) Validate() error { return shared.Validate(c) }

// Check records every problem of the configuration in p.
func (c *Config) Check(p *shared.Problems) {
	c.Runtime.Validate(p)
	c.Warnings = c.Secrets.Validate(c.Runtime, false, p)
	if c.GRPCPort <= 0 || c.GRPCPort > 65535 {
		p.Addf("ALTUS_GRPC_PORT must be a port number; got %d", c.GRPCPort)
	}
	if c.Services.Cache == "" {
		p.Add("ALTUS_CACHE_ADDR must not be empty")
	}
	if c.Services.Account == "" {
		p.Add("ALTUS_ACCOUNT_ADDR must not be empty")
	}
	c.OpenAI.check(p)
	c.AI.check(c.OpenAI, p)
	if !c.OpenAI.Configured() {
		c.Warnings = append(c.Warnings, "OPENAI_API_KEY is not set: every AI capability answers from its local fallback")
	}
}

func (o OpenAI) check(p *shared.Problems) {
	if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.Addf("OPENAI_BASE_URL must be an http(s) URL such as https://api.openai.com/v1; got %q", o.BaseURL)
	}
	if o.Model == "" {
		p.Add("OPENAI_MODEL must not be empty (e.g. gpt-4o-mini)")
	}
	if o.EmbeddingModel == "" {
		p.Add("OPENAI_EMBEDDING_MODEL must not be empty (e.g. text-embedding-3-small)")
	}
	if o.Timeout < 100*time.Millisecond || o.Timeout > 5*time.Minute {
		p.Addf("ALTUS_OPENAI_TIMEOUT must be between 100ms and 5m (e.g. 10s); got %s", o.Timeout)
	}
}

func (a AI) check(o OpenAI, p *shared.Problems) {
	if a.RateLimit < 1 || a.RateLimit > 1_000_000 {
		p.Addf("ALTUS_AI_RATE_LIMIT must be between 1 and 1000000 calls per minute; got %d", a.RateLimit)
	}
	if a.Concurrency < 1 || a.Concurrency > 1024 {
		p.Addf("ALTUS_AI_CONCURRENCY must be between 1 and 1024; got %d", a.Concurrency)
	}
	if a.QueueSize < 0 || a.QueueSize > 100_000 {
		p.Addf("ALTUS_AI_QUEUE_SIZE must be between 0 and 100000; got %d", a.QueueSize)
	}
	if a.BreakerFailures < 1 || a.BreakerFailures > 1000 {
		p.Addf("ALTUS_AI_BREAKER_FAILURES must be between 1 and 1000; got %d", a.BreakerFailures)
	}
	if a.BreakerCooldown < 10*time.Millisecond || a.BreakerCooldown > time.Hour {
		p.Addf("ALTUS_AI_BREAKER_COOLDOWN must be between 10ms and 1h (e.g. 30s); got %s", a.BreakerCooldown)
	}
	if a.FallbackReserve < 0 || a.FallbackReserve >= o.Timeout || a.FallbackReserve > time.Second {
		p.Addf("ALTUS_AI_FALLBACK_RESERVE must be between 0 and 1s and below ALTUS_OPENAI_TIMEOUT (%s); got %s", o.Timeout, a.FallbackReserve)
	}
	if a.CacheTimeout < time.Millisecond || a.CacheTimeout > 5*time.Second {
		p.Addf("ALTUS_AI_CACHE_TIMEOUT must be between 1ms and 5s (e.g. 100ms); got %s", a.CacheTimeout)
	}
	if a.EmbedCacheTTL < time.Minute || a.EmbedCacheTTL > 30*24*time.Hour {
		p.Addf("ALTUS_EMBED_CACHE_TTL must be between 1m and 720h (e.g. 24h); got %s", a.EmbedCacheTTL)
	}
	if a.AnswerCacheTTL < time.Second || a.AnswerCacheTTL > 30*24*time.Hour {
		p.Addf("ALTUS_AI_ANSWER_CACHE_TTL must be between 1s and 720h (e.g. 1h); got %s", a.AnswerCacheTTL)
	}
	if a.MaxDocumentChars < 100 || a.MaxDocumentChars > 100_000 {
		p.Addf("ALTUS_AI_MAX_DOCUMENT_CHARS must be between 100 and 100000; got %d", a.MaxDocumentChars)
	}
	if a.SlowSource < time.Millisecond || a.SlowSource > time.Hour {
		p.Addf("ALTUS_AI_SLOW_SOURCE must be between 1ms and 1h (e.g. 1s); got %s", a.SlowSource)
	}
}
