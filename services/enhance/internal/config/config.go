// Package config is the enhance service's configuration.
package config

import (
	shared "github.com/altus4/altus/pkg/config"
)

// Config is everything the enhance service reads from its environment.
type Config struct {
	Runtime  shared.Runtime
	Secrets  shared.Secrets
	Services shared.Services
	// GRPCPort is the port of the EnhanceService.
	GRPCPort int `env:"ALTUS_GRPC_PORT" envDefault:"50053"`
	// Warnings are non-fatal remarks of Validate, to be logged at start.
	Warnings []string `env:"-"`
}

// DefaultAdminPort is where /metrics is served unless ALTUS_ADMIN_PORT says otherwise.
const DefaultAdminPort = 9093

// Default returns the configuration with every default applied.
func Default() Config {
	var c Config
	var p shared.Problems
	shared.Parse(&c, []string{}, &p)
	return c
}

// Load reads the configuration from environ (os.Environ() form; nil means
// the process environment) and validates it, reporting every problem at once.
func Load(environ []string) (Config, error) {
	var c Config
	var p shared.Problems
	shared.Parse(&c, environ, &p)
	c.validate(&p)
	return c, p.Err()
}

// Validate checks the configuration and reports every problem in one error.
func (c *Config) Validate() error {
	var p shared.Problems
	c.validate(&p)
	return p.Err()
}

func (c *Config) validate(p *shared.Problems) {
	c.Runtime.Validate(p)
	c.Warnings = c.Secrets.Validate(c.Runtime, false, p)
	if c.GRPCPort <= 0 || c.GRPCPort > 65535 {
		p.Addf("ALTUS_GRPC_PORT must be a port number; got %d", c.GRPCPort)
	}
}
