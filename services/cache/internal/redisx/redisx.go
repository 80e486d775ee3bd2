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
	// ClientCacheBytes is the client-side cache's memory per connection;
	// zero disables client-side caching.
	ClientCacheBytes int
}

// New returns a client for the Redis server cfg names. It does not need
// Redis to be reachable: the client connects lazily and reconnects on its
// own, so the service starts (and reports Redis as down) while Redis is
// away. It fails only when the configuration cannot make a client.
//
// With ClientCacheBytes > 0, server-assisted client-side caching is on
// (RESP3 tracking): DoCache reads are served from memory until Redis says the
// key changed. Without it DoCache degrades to a plain round trip.
func New(cfg config.Redis, o Options) (rueidis.Client, error) {
	dial := o.DialTimeout
	if dial <= 0 {
		dial = DefaultDialTimeout
	}
	opt := rueidis.ClientOption{
		InitAddress:       []string{cfg.Addr()},
		Password:          cfg.Password,
		SelectDB:          cfg.DB,
		DisableCache:      o.ClientCacheBytes <= 0,
		CacheSizeEachConn: o.ClientCacheBytes,
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
