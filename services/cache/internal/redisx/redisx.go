// Package redisx builds the Redis client of the cache service from its
// configuration: one standalone server, a redis:// URL, a master found
// through Sentinel, or a Redis Cluster. Construction lives in this one place
// so that the callers never depend on the deployment.
package redisx

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	shared "github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/services/cache/internal/config"
)

// DefaultDialTimeout bounds the connection (TCP, AUTH, HELLO, SELECT) to Redis.
const DefaultDialTimeout = time.Second

// DefaultRetryInterval is how long Open's Conn waits between two attempts
// to build a Sentinel or Cluster client while none of the servers answers.
const DefaultRetryInterval = time.Second

// Intervals of the background topology checks, on top of the events and
// redirections that normally move the client: Sentinel's +switch-master
// and Cluster's MOVED.
const (
	sentinelRefresh = 3 * time.Second
	clusterRefresh  = 10 * time.Second
)

// Options tune the client beyond what the configuration says.
type Options struct {
	// DialTimeout bounds connecting to Redis; zero means DefaultDialTimeout.
	DialTimeout time.Duration
	// ClientCacheBytes is the client-side cache's memory per connection;
	// zero disables client-side caching.
	ClientCacheBytes int
	// RetryInterval spaces the attempts to build a client that could not
	// be built yet; zero means DefaultRetryInterval.
	RetryInterval time.Duration
}

// New returns a client for the standalone Redis server cfg names. It does
// not need Redis to be reachable: the client connects lazily and reconnects
// on its own, so the service starts (and reports Redis as down) while Redis
// is away. It fails only when the configuration cannot make a client.
//
// With ClientCacheBytes > 0, server-assisted client-side caching is on
// (RESP3 tracking): DoCache reads are served from memory until Redis says the
// key changed. Without it DoCache degrades to a plain round trip.
func New(cfg shared.Redis, o Options) (rueidis.Client, error) {
	opt := rueidis.ClientOption{
		InitAddress: []string{cfg.Addr()},
		Password:    cfg.Password,
		SelectDB:    cfg.DB,
		// A standalone server: skip the CLUSTER probe so that a client can be
		// built while the server is down (the probe needs a connection).
		ForceSingleClient: true,
	}
	o.apply(&opt)
	client, err := rueidis.NewClient(opt)
	if client == nil {
		return nil, fmt.Errorf("redisx: client for %s: %w", cfg.Addr(), err)
	}
	// err != nil with a client means the first connection failed; the
	// client retries on use and the health checker reports the outage.
	return client, nil
}

// apply sets the options every deployment shares.
func (o Options) apply(opt *rueidis.ClientOption) {
	dial := o.DialTimeout
	if dial <= 0 {
		dial = DefaultDialTimeout
	}
	opt.Dialer.Timeout = dial
	opt.Sentinel.Dialer.Timeout = dial
	if o.ClientCacheBytes <= 0 {
		opt.DisableCache = true
	} else {
		opt.CacheSizeEachConn = o.ClientCacheBytes
	}
}

// ClientOption returns the rueidis options for the deployment r and t
// describe (t chooses; with no topology setting, the standalone r) and
// whether building the client needs a server to answer (Sentinel and
// Cluster clients ask the servers for the topology when they are built).
func ClientOption(r shared.Redis, t config.Topology, o Options) (opt rueidis.ClientOption, needsServer bool, err error) {
	switch t.Mode() {
	case config.URL:
		if opt, err = rueidis.ParseURL(t.URL); err != nil {
			return opt, false, fmt.Errorf("redisx: REDIS_URL: %w", err)
		}
		if opt.Password == "" {
			opt.Password = r.Password
		}
		urlDisablesCache := opt.DisableCache
		o.apply(&opt)
		opt.DisableCache = opt.DisableCache || urlDisablesCache
		switch {
		case opt.Sentinel.MasterSet != "":
			opt.ShuffleInit = true
			opt.Sentinel.TopologyRefreshInterval = sentinelRefresh
			return opt, true, nil
		case len(opt.InitAddress) > 1:
			opt.ShuffleInit = true
			opt.ClusterOption.ShardsRefreshInterval = clusterRefresh
			return opt, true, nil
		}
		opt.ForceSingleClient = true
		return opt, false, nil
	case config.Sentinel:
		opt = rueidis.ClientOption{
			InitAddress: t.SentinelAddrs(),
			ShuffleInit: true,
			Password:    r.Password,
			SelectDB:    r.DB,
			Sentinel: rueidis.SentinelOption{
				MasterSet:               t.SentinelMaster,
				Password:                t.SentinelPassword,
				TopologyRefreshInterval: sentinelRefresh,
			},
		}
		o.apply(&opt)
		return opt, true, nil
	case config.Cluster:
		opt = rueidis.ClientOption{
			InitAddress:   t.ClusterAddrs(),
			ShuffleInit:   true,
			Password:      r.Password,
			ClusterOption: rueidis.ClusterOption{ShardsRefreshInterval: clusterRefresh},
		}
		o.apply(&opt)
		return opt, true, nil
	}
	opt = rueidis.ClientOption{InitAddress: []string{r.Addr()}, Password: r.Password, SelectDB: r.DB, ForceSingleClient: true}
	o.apply(&opt)
	return opt, false, nil
}

// Describe names the deployment r and t choose, for logs: the mode and the
// addresses, never a password.
func Describe(r shared.Redis, t config.Topology) string {
	switch t.Mode() {
	case config.URL:
		opt, err := rueidis.ParseURL(t.URL)
		if err != nil {
			return "url (unparsable)"
		}
		if opt.Sentinel.MasterSet != "" {
			return "sentinel master " + opt.Sentinel.MasterSet + " via " + strings.Join(opt.InitAddress, ",")
		}
		return "url " + strings.Join(opt.InitAddress, ",")
	case config.Sentinel:
		return "sentinel master " + t.SentinelMaster + " via " + strings.Join(t.SentinelAddrs(), ",")
	case config.Cluster:
		return "cluster via " + strings.Join(t.ClusterAddrs(), ",")
	}
	return "standalone " + r.Addr()
}

// ErrNotConnected means no client could be built yet: none of the Sentinels
// or Cluster nodes answered. Conn keeps trying.
var ErrNotConnected = errors.New("redisx: no Redis client yet: no server of the deployment answered")

// Conn hands out the client of a deployment. A standalone client exists at
// once; a Sentinel or Cluster client needs a server to answer when it is
// built, so while none does, Client fails at once and Conn tries again (at
// most once per RetryInterval, in the background) until one answers. The
// service thus starts, and reports Redis down, while Redis is away, in every
// deployment. Once built, the client follows failovers and resharding itself.
type Conn struct {
	opt   rueidis.ClientOption
	retry time.Duration
	desc  string

	client atomic.Pointer[rueidis.Client]

	mu       sync.Mutex
	building bool
	lastTry  time.Time
	lastErr  error
	closed   bool
}

// Open returns the Conn of the deployment r and t describe. It tries to
// build the client once, bounded by the dial timeout; it fails only when
// the configuration cannot make a client.
func Open(r shared.Redis, t config.Topology, o Options) (*Conn, error) {
	opt, needsServer, err := ClientOption(r, t, o)
	if err != nil {
		return nil, err
	}
	c := &Conn{opt: opt, retry: o.RetryInterval, desc: Describe(r, t)}
	if c.retry <= 0 {
		c.retry = DefaultRetryInterval
	}
	if !needsServer {
		client, err := rueidis.NewClient(opt)
		if client == nil {
			return nil, fmt.Errorf("redisx: client for %s: %w", c.desc, err)
		}
		c.client.Store(&client)
		return c, nil
	}
	c.building = true
	c.build()
	return c, nil
}

// String describes the deployment (no password).
func (c *Conn) String() string { return c.desc }

// Client returns the client, or an error wrapping ErrNotConnected while
// none could be built yet (then it starts another attempt if the last one
// is older than the retry interval). It never waits for a server.
func (c *Conn) Client() (rueidis.Client, error) {
	if p := c.client.Load(); p != nil {
		return *p, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.client.Load(); p != nil {
		return *p, nil
	}
	if c.closed {
		return nil, fmt.Errorf("%w (closed)", ErrNotConnected)
	}
	if !c.building && time.Since(c.lastTry) >= c.retry {
		c.building = true
		go c.build()
	}
	if c.lastErr == nil {
		return nil, ErrNotConnected
	}
	return nil, fmt.Errorf("%w: %v", ErrNotConnected, c.lastErr)
}

// build makes one attempt to build the client (c.building is set).
func (c *Conn) build() {
	client, err := rueidis.NewClient(c.opt)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.building = false
	c.lastTry = time.Now()
	c.lastErr = err
	if err != nil || client == nil {
		if client != nil {
			client.Close()
		}
		return
	}
	if c.closed {
		client.Close()
		return
	}
	c.client.Store(&client)
}

// Close closes the client, if any; later calls of Client fail.
func (c *Conn) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	if p := c.client.Swap(nil); p != nil {
		(*p).Close()
	}
}
