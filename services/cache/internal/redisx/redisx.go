// Package redisx builds the Redis client of the cache service from its
// configuration. Construction lives in this one place so that Sentinel and
// Cluster deployments can be added here without touching the callers.
package redisx

import (
	"fmt"
	"time"

	"github.com/redis/rueidis"

	"github.com/altus4/altus/pkg/config"
)

// DefaultDialTimeout bounds the connection (TCP, AUTH, HELLO, SELECT) to Redis.
const DefaultDialTimeout = time.Second

// Options tune the client beyond what the configuration says.
type Options struct {
	// DialTimeout bounds connecting to Redis; zero means DefaultDialTimeout.
	DialTimeout time.Duration
}

// New returns a client for the Redis server cfg names. It does not need
// Redis to be reachable: the client connects lazily and reconnects on its
// own, so the service starts (and reports Redis as down) while Redis is
// away. It fails only when the configuration cannot make a client.
//
// Server-assisted client-side caching is disabled: the cache service uses
// plain Do, never DoCache, so tracking invalidations would only cost memory.
func New(cfg config.Redis, o Options) (rueidis.Client, error) {
	dial := o.DialTimeout
	if dial <= 0 {
		dial = DefaultDialTimeout
	}
	opt := rueidis.ClientOption{
		InitAddress:  []string{cfg.Addr()},
		Password:     cfg.Password,
		SelectDB:     cfg.DB,
		DisableCache: true,
		// A standalone server: skip the CLUSTER probe so that a client can be
		// built while the server is down (the probe needs a connection).
		ForceSingleClient: true,
	}
	opt.Dialer.Timeout = dial
	client, err := rueidis.NewClient(opt)
	if client == nil {
		return nil, fmt.Errorf("redisx: client for %s: %w", cfg.Addr(), err)
	}
	// err != nil with a client means the first connection failed; the
	// client retries on use and the health checker reports the outage.
	return client, nil
}
