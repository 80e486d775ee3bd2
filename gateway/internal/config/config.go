// Package config is the gateway's configuration.
package config

import (
	"net/netip"
	"strings"
	"time"

	shared "github.com/altus4/altus/pkg/config"
)

// Config is everything the gateway reads from its environment.
type Config struct {
	Runtime  shared.Runtime
	Secrets  shared.Secrets
	Services shared.Services
	// Port serves the REST API (v1 name).
	Port int `env:"PORT" envDefault:"3000"`
	// AllowedOrigins are the CORS origins (comma-separated; "*" allows any).
	AllowedOrigins []string `env:"ALLOWED_ORIGINS" envDefault:"http://localhost:3000,http://localhost:5173" envSeparator:","`
	// AuthCacheTTL is how long a verified credential is trusted without asking
	// the account service again: a revoked token or key stops working within it.
	AuthCacheTTL time.Duration `env:"ALTUS_AUTH_CACHE_TTL" envDefault:"5s"`
	// AuthRateLimit and AuthRateWindow limit register and login per client IP.
	AuthRateLimit  int           `env:"ALTUS_AUTH_RATE_LIMIT" envDefault:"20"`
	AuthRateWindow time.Duration `env:"ALTUS_AUTH_RATE_WINDOW" envDefault:"15m"`
	// KeyEnvironments are the API-key environments this deployment accepts.
	KeyEnvironments []string `env:"ALTUS_API_KEY_ENVIRONMENTS" envDefault:"live,test" envSeparator:","`
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `env:"ALTUS_TRUSTED_PROXIES" envSeparator:","`
	// RequestTimeout bounds every call the gateway makes for a request.
	RequestTimeout time.Duration `env:"ALTUS_REQUEST_TIMEOUT" envDefault:"30s"`
	// UsageFlushInterval is how often API-key usage counts go to the account service.
	UsageFlushInterval time.Duration `env:"ALTUS_USAGE_FLUSH_INTERVAL" envDefault:"2s"`
	// HealthInterval is how often the dependencies' health is polled.
	HealthInterval time.Duration `env:"ALTUS_HEALTH_INTERVAL" envDefault:"2s"`
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64 `env:"ALTUS_MAX_BODY_BYTES" envDefault:"1048576"`
	// EdgeCache lets the gateway answer a repeated search from the result
	// cache itself (one call to the cache service) instead of through the
	// search service.
	EdgeCache bool `env:"ALTUS_EDGE_CACHE" envDefault:"true"`
	// EdgePagesMB bounds the edge pages the gateway holds between searches,
	// re-validated against the source versions on every search.
	EdgePagesMB int `env:"ALTUS_EDGE_PAGES_MB" envDefault:"32"`
	// EdgeReportInterval is how often the searches answered at the edge are
	// sent to the search service to be recorded.
	EdgeReportInterval time.Duration `env:"ALTUS_EDGE_REPORT_INTERVAL" envDefault:"200ms"`
	// Warnings are non-fatal remarks of Validate, to be logged at start.
	Warnings []string `env:"-"`
	// Proxies are the parsed TrustedProxies.
	Proxies []netip.Prefix `env:"-"`
}

// DefaultAdminPort is where /metrics is served unless ALTUS_ADMIN_PORT says otherwise.
const DefaultAdminPort = 9090

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
	if c.Port <= 0 || c.Port > 65535 {
		p.Addf("PORT must be a port number; got %d", c.Port)
	}
	if c.AuthRateLimit <= 0 {
		p.Addf("ALTUS_AUTH_RATE_LIMIT must be positive; got %d", c.AuthRateLimit)
	}
	if c.AuthRateWindow < time.Second || c.AuthRateWindow > 24*time.Hour {
		p.Addf("ALTUS_AUTH_RATE_WINDOW must be between 1s and 24h; got %s", c.AuthRateWindow)
	}
	if c.AuthCacheTTL < 0 || c.AuthCacheTTL > time.Minute {
		p.Addf("ALTUS_AUTH_CACHE_TTL must be between 0 and 1m (revocation waits for it); got %s", c.AuthCacheTTL)
	}
	for _, e := range c.KeyEnvironments {
		if e != "live" && e != "test" {
			p.Addf("ALTUS_API_KEY_ENVIRONMENTS may list only live and test; got %q", e)
		}
	}
	c.Proxies = nil
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				pfx = netip.PrefixFrom(a, a.BitLen())
			} else {
				p.Addf("ALTUS_TRUSTED_PROXIES: %q is not an address or CIDR", s)
				continue
			}
		}
		c.Proxies = append(c.Proxies, pfx)
	}
	if c.RequestTimeout <= 0 {
		p.Addf("ALTUS_REQUEST_TIMEOUT must be positive; got %s", c.RequestTimeout)
	}
	if c.UsageFlushInterval <= 0 {
		p.Addf("ALTUS_USAGE_FLUSH_INTERVAL must be positive; got %s", c.UsageFlushInterval)
	}
	if c.HealthInterval <= 0 {
		p.Addf("ALTUS_HEALTH_INTERVAL must be positive; got %s", c.HealthInterval)
	}
	if c.EdgePagesMB < 0 || c.EdgePagesMB > 4096 {
		p.Addf("ALTUS_EDGE_PAGES_MB must be between 0 and 4096; got %d", c.EdgePagesMB)
	}
	if c.EdgeReportInterval <= 0 || c.EdgeReportInterval > time.Minute {
		p.Addf("ALTUS_EDGE_REPORT_INTERVAL must be between 1ms and 1m; got %s", c.EdgeReportInterval)
	}
	if c.MaxBodyBytes <= 0 {
		p.Addf("ALTUS_MAX_BODY_BYTES must be positive; got %d", c.MaxBodyBytes)
	}
}
