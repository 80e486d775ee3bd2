// Package config is the search service's configuration.
package config

import (
	"time"

	shared "github.com/altus4/altus/pkg/config"
)

// Config is everything the search service reads from its environment.
type Config struct {
	Runtime  shared.Runtime
	MySQL    shared.MySQL
	Secrets  shared.Secrets
	Services shared.Services
	// GRPCPort is the port of the SearchService.
	GRPCPort int `env:"ALTUS_GRPC_PORT" envDefault:"50051"`
	// Migrate applies the search migrations at start; turn it off when a
	// deployment runs `search migrate` as a separate step.
	Migrate bool `env:"ALTUS_MIGRATE" envDefault:"true"`
	// MaxWindow bounds offset+limit when results of several indexes or
	// databases are fused (each index then returns offset+limit rows).
	MaxWindow int `env:"ALTUS_SEARCH_MAX_WINDOW" envDefault:"1000"`
	// RankWindow is how many matches each index of a table searched by
	// several FULLTEXT indexes ranks, the same for every page, so that the
	// fused order never depends on the page asked; such results page that
	// deep (offset+limit at most RankWindow).
	RankWindow int `env:"ALTUS_SEARCH_RANK_WINDOW" envDefault:"200"`
	// CountScanRows: the matches of a table searched by several indexes
	// whose lists were cut are counted by one scan when the table has at
	// most this many rows (the server's estimate), else through the
	// indexes (each list counted, then their intersection). 0: never scan.
	CountScanRows int `env:"ALTUS_SEARCH_COUNT_SCAN_ROWS" envDefault:"0"`
	// EagerSearches: while at most this many searches run on this
	// replica, a search trades work for latency (the intersection count
	// beside the rankings, the page read in the rankings' calls); past it,
	// it does the least work. 0: never eager.
	EagerSearches int `env:"ALTUS_SEARCH_EAGER_SEARCHES" envDefault:"4"`
	// CacheTTL is how long a page of results is served from the cache.
	CacheTTL time.Duration `env:"ALTUS_SEARCH_CACHE_TTL" envDefault:"60s"`
	// CacheTimeout bounds each call to the cache service: a slow or absent
	// cache never holds a search up longer than this.
	CacheTimeout time.Duration `env:"ALTUS_SEARCH_CACHE_TIMEOUT" envDefault:"100ms"`
	// SourceTimeout bounds the search of one database (statements included).
	SourceTimeout time.Duration `env:"ALTUS_SOURCE_TIMEOUT" envDefault:"5s"`
	// SuggestTimeout bounds GET /search/suggestions.
	SuggestTimeout time.Duration `env:"ALTUS_SEARCH_SUGGEST_TIMEOUT" envDefault:"300ms"`
	// DidYouMeanTimeout bounds the spelling suggestions added to a search
	// that found nothing.
	DidYouMeanTimeout time.Duration `env:"ALTUS_SEARCH_DIDYOUMEAN_TIMEOUT" envDefault:"100ms"`
	// EnhanceBudget bounds the AI enhancement calls of one search
	// (categories, query optimization, suggestions), run concurrently once
	// its page is assembled and never past the search's own deadline: a
	// capability that has not answered by then is reported skipped.
	EnhanceBudget time.Duration `env:"ALTUS_ENHANCE_BUDGET" envDefault:"300ms"`
	// SemanticBudget bounds the Embed call of a semantic search; past it
	// the search ranks by full-text, expansion and stemmed variants.
	SemanticBudget time.Duration `env:"ALTUS_SEARCH_SEMANTIC_BUDGET" envDefault:"1s"`
	// ExpansionModeTimeout bounds an expansion-mode search of each
	// database; past it the search runs in natural mode instead (and says
	// so). Never longer than ALTUS_SOURCE_TIMEOUT.
	ExpansionModeTimeout time.Duration `env:"ALTUS_SEARCH_EXPANSION_TIMEOUT" envDefault:"2s"`
	// ExpansionRetry is how long query expansion is not tried again on a
	// database where it ran out of its time (0: tried every time).
	ExpansionRetry time.Duration `env:"ALTUS_SEARCH_EXPANSION_RETRY" envDefault:"1m"`
	// ExpansionTimeout bounds a semantic search's query-expansion call on
	// each source; past it that source's candidates come from natural
	// mode only.
	ExpansionTimeout time.Duration `env:"ALTUS_SEARCH_SEMANTIC_EXPANSION_TIMEOUT" envDefault:"1s"`
	// SemanticWindow is how many rows each FULLTEXT index returns to a
	// semantic search, in natural and in expansion mode: the candidates
	// the embeddings re-rank.
	SemanticWindow int `env:"ALTUS_SEARCH_SEMANTIC_WINDOW" envDefault:"100"`
	// SemanticCandidates is how many candidates (best full-text ranks
	// first) are embedded with the query in one Embed call.
	SemanticCandidates int `env:"ALTUS_SEARCH_SEMANTIC_CANDIDATES" envDefault:"200"`
	// FallbackCacheTTL is how long a page is cached when one of its AI
	// enhancements came from a fallback or was skipped.
	FallbackCacheTTL time.Duration `env:"ALTUS_SEARCH_FALLBACK_CACHE_TTL" envDefault:"5s"`
	// EventQueue bounds the search events waiting to be written; beyond it
	// events are dropped (counted in altus4_search_events_total).
	EventQueue int `env:"ALTUS_SEARCH_EVENT_QUEUE" envDefault:"10000"`
	// EventFlushInterval is the longest a search event waits to be written.
	EventFlushInterval time.Duration `env:"ALTUS_SEARCH_EVENT_FLUSH_INTERVAL" envDefault:"1s"`
	// Warnings are non-fatal remarks of Validate, to be logged at start.
	Warnings []string `env:"-"`
}

// DefaultAdminPort is where /metrics is served unless ALTUS_ADMIN_PORT says otherwise.
const DefaultAdminPort = 9091

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
	c.MySQL.Validate(p)
	c.Warnings = c.Secrets.Validate(c.Runtime, false, p)
	if c.GRPCPort <= 0 || c.GRPCPort > 65535 {
		p.Addf("ALTUS_GRPC_PORT must be a port number; got %d", c.GRPCPort)
	}
	// dbrouter returns at most 1000 rows per plan.
	if c.MaxWindow < 100 || c.MaxWindow > 1000 {
		p.Addf("ALTUS_SEARCH_MAX_WINDOW must be between 100 and 1000; got %d", c.MaxWindow)
	}
	if c.RankWindow < 100 || c.RankWindow > 1000 || c.RankWindow > c.MaxWindow {
		p.Addf("ALTUS_SEARCH_RANK_WINDOW must be between 100 and 1000 and at most ALTUS_SEARCH_MAX_WINDOW (%d); got %d", c.MaxWindow, c.RankWindow)
	}
	if c.EagerSearches < 0 {
		p.Addf("ALTUS_SEARCH_EAGER_SEARCHES must be 0 (never eager) or more; got %d", c.EagerSearches)
	}
	if c.CountScanRows < 0 {
		p.Addf("ALTUS_SEARCH_COUNT_SCAN_ROWS must be 0 (never scan) or more; got %d", c.CountScanRows)
	}
	if c.CacheTTL < time.Second || c.CacheTTL > 24*time.Hour {
		p.Addf("ALTUS_SEARCH_CACHE_TTL must be between 1s and 24h (e.g. 60s); got %s", c.CacheTTL)
	}
	if c.CacheTimeout < time.Millisecond || c.CacheTimeout > 5*time.Second {
		p.Addf("ALTUS_SEARCH_CACHE_TIMEOUT must be between 1ms and 5s (e.g. 100ms); got %s", c.CacheTimeout)
	}
	if c.SourceTimeout < 100*time.Millisecond || c.SourceTimeout > 5*time.Minute {
		p.Addf("ALTUS_SOURCE_TIMEOUT must be between 100ms and 5m (e.g. 5s); got %s", c.SourceTimeout)
	}
	if c.SuggestTimeout < 10*time.Millisecond || c.SuggestTimeout > 10*time.Second {
		p.Addf("ALTUS_SEARCH_SUGGEST_TIMEOUT must be between 10ms and 10s (e.g. 300ms); got %s", c.SuggestTimeout)
	}
	if c.DidYouMeanTimeout < time.Millisecond || c.DidYouMeanTimeout > 10*time.Second {
		p.Addf("ALTUS_SEARCH_DIDYOUMEAN_TIMEOUT must be between 1ms and 10s (e.g. 100ms); got %s", c.DidYouMeanTimeout)
	}
	if c.EnhanceBudget < 10*time.Millisecond || c.EnhanceBudget > 10*time.Second {
		p.Addf("ALTUS_ENHANCE_BUDGET must be between 10ms and 10s (e.g. 300ms); got %s", c.EnhanceBudget)
	}
	if c.SemanticBudget < 10*time.Millisecond || c.SemanticBudget > 30*time.Second {
		p.Addf("ALTUS_SEARCH_SEMANTIC_BUDGET must be between 10ms and 30s (e.g. 1s); got %s", c.SemanticBudget)
	}
	if c.ExpansionModeTimeout < 10*time.Millisecond || c.ExpansionModeTimeout > c.SourceTimeout {
		p.Addf("ALTUS_SEARCH_EXPANSION_TIMEOUT must be between 10ms and ALTUS_SOURCE_TIMEOUT (%s) (e.g. 2s); got %s", c.SourceTimeout, c.ExpansionModeTimeout)
	}
	if c.ExpansionRetry < 0 || c.ExpansionRetry > time.Hour {
		p.Addf("ALTUS_SEARCH_EXPANSION_RETRY must be between 0 (try every time) and 1h (e.g. 1m); got %s", c.ExpansionRetry)
	}
	if c.ExpansionTimeout < 10*time.Millisecond || c.ExpansionTimeout > time.Minute {
		p.Addf("ALTUS_SEARCH_SEMANTIC_EXPANSION_TIMEOUT must be between 10ms and 1m (e.g. 1s); got %s", c.ExpansionTimeout)
	}
	if c.SemanticWindow < 10 || c.SemanticWindow > c.MaxWindow {
		p.Addf("ALTUS_SEARCH_SEMANTIC_WINDOW must be between 10 and ALTUS_SEARCH_MAX_WINDOW (%d); got %d", c.MaxWindow, c.SemanticWindow)
	}
	if c.SemanticCandidates < 1 || c.SemanticCandidates > 255 {
		p.Addf("ALTUS_SEARCH_SEMANTIC_CANDIDATES must be between 1 and 255 (one Embed call takes 256 texts with the query); got %d", c.SemanticCandidates)
	}
	if c.FallbackCacheTTL < time.Second || c.FallbackCacheTTL > c.CacheTTL {
		p.Addf("ALTUS_SEARCH_FALLBACK_CACHE_TTL must be between 1s and ALTUS_SEARCH_CACHE_TTL (%s); got %s", c.CacheTTL, c.FallbackCacheTTL)
	}
	if c.EventQueue < 1 {
		p.Addf("ALTUS_SEARCH_EVENT_QUEUE must be positive; got %d", c.EventQueue)
	}
	if c.EventFlushInterval < 10*time.Millisecond || c.EventFlushInterval > time.Minute {
		p.Addf("ALTUS_SEARCH_EVENT_FLUSH_INTERVAL must be between 10ms and 1m (e.g. 1s); got %s", c.EventFlushInterval)
	}
	for _, s := range []struct{ name, addr string }{
		{"ALTUS_DBROUTER_ADDR", c.Services.DBRouter}, {"ALTUS_CACHE_ADDR", c.Services.Cache}, {"ALTUS_ACCOUNT_ADDR", c.Services.Account},
		{"ALTUS_ENHANCE_ADDR", c.Services.Enhance},
	} {
		if s.addr == "" {
			p.Addf("%s must not be empty", s.name)
		}
	}
}
