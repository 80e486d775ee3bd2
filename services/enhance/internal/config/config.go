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
}
