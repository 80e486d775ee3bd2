package schema

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultLoadTimeout bounds one discovery.
const DefaultLoadTimeout = 30 * time.Second

// Key names a source's schema: the source id and the version of its
// connection settings (a new version is a new database, maybe).
type Key struct {
	ID      string
	Version int
}

// Loader discovers a schema (typically Discover over a pooled connection).
type Loader func(ctx context.Context) (Schema, error)

// Cache keeps one schema per source for a TTL. A fresh entry is served as
// it is; a stale one is served while one background refresh runs; a miss or
// a forced refresh reads synchronously. Concurrent reads of one source are
// coalesced (singleflight), so a burst of requests costs one discovery.
// It is safe for concurrent use.
type Cache struct {
	ttl         time.Duration
	loadTimeout time.Duration
	now         func() time.Time
	log         *slog.Logger

	group singleflight.Group

	mu         sync.Mutex
	entries    map[string]entry
	refreshing map[Key]bool
	background sync.WaitGroup
}

type entry struct {
	version  int
	schema   Schema
	loadedAt time.Time
}

// CacheOptions configure NewCache.
type CacheOptions struct {
	// TTL is how long an entry is served without a refresh.
	TTL time.Duration
	// LoadTimeout bounds one discovery (DefaultLoadTimeout when zero).
	LoadTimeout time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log receives failures of background refreshes; nil discards them.
	Log *slog.Logger
}

// NewCache returns an empty cache.
func NewCache(o CacheOptions) *Cache {
	if o.LoadTimeout <= 0 {
		o.LoadTimeout = DefaultLoadTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Cache{
		ttl: o.TTL, loadTimeout: o.LoadTimeout, now: o.Now, log: o.Log,
		entries: map[string]entry{}, refreshing: map[Key]bool{},
	}
}

// Get returns the schema of key, loading it with load when there is no
// entry of that version or refresh is true, and refreshing it in the
// background (serving the stale entry meanwhile) when it is older than the TTL.
func (c *Cache) Get(ctx context.Context, key Key, refresh bool, load Loader) (Schema, error) {
	if !refresh {
		c.mu.Lock()
		e, ok := c.entries[key.ID]
		c.mu.Unlock()
		if ok && e.version == key.Version {
			if c.now().Sub(e.loadedAt) >= c.ttl {
				c.refreshInBackground(ctx, key, load)
			}
			return e.schema, nil
		}
	}
	return c.load(ctx, key, refresh, load)
}

// load reads the schema once for all concurrent callers of the same key
// (forced refreshes coalesce among themselves, so that none of them is
// answered by a read that started before it). The read is detached from
// the caller's cancellation, so one caller giving up does not fail the others.
func (c *Cache) load(ctx context.Context, key Key, force bool, load Loader) (Schema, error) {
	flight := fmt.Sprintf("%s@%d", key.ID, key.Version)
	if force {
		flight += "!"
	}
	ch := c.group.DoChan(flight, func() (any, error) {
		if !force {
			// A read that finished between the caller's lookup and this
			// flight already answered it.
			if s, ok := c.fresh(key); ok {
				return s, nil
			}
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.loadTimeout)
		defer cancel()
		s, err := load(lctx)
		if err != nil {
			return nil, err
		}
		c.store(key, s)
		return s, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Schema{}, r.Err
		}
		return r.Val.(Schema), nil
	case <-ctx.Done():
		return Schema{}, ctx.Err()
	}
}

func (c *Cache) fresh(key Key) (Schema, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key.ID]
	if !ok || e.version != key.Version || c.now().Sub(e.loadedAt) >= c.ttl {
		return Schema{}, false
	}
	return e.schema, true
}

func (c *Cache) store(key Key, s Schema) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key.ID]; ok && e.version > key.Version {
		return
	}
	c.entries[key.ID] = entry{version: key.Version, schema: s, loadedAt: c.now()}
}

func (c *Cache) refreshInBackground(ctx context.Context, key Key, load Loader) {
	c.mu.Lock()
	if c.refreshing[key] {
		c.mu.Unlock()
		return
	}
	c.refreshing[key] = true
	c.background.Add(1)
	c.mu.Unlock()
	// The refresh keeps the request's values (trace, identity) but not its
	// cancellation: the request is answered from the stale entry now.
	bctx := context.WithoutCancel(ctx)
	go func() {
		defer c.background.Done()
		defer func() {
			c.mu.Lock()
			delete(c.refreshing, key)
			c.mu.Unlock()
		}()
		if _, err := c.load(bctx, key, false, load); err != nil {
			c.log.WarnContext(bctx, "schema refresh failed; serving the previous schema", "source", key.ID, "error", err)
		}
	}()
}

// Peek returns the cached schema of a source, whatever its version and
// age, without loading anything.
func (c *Cache) Peek(id string) (Schema, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	return e.schema, ok
}

// Invalidate forgets the schema of a source.
func (c *Cache) Invalidate(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}

// Keys lists the cached entries.
func (c *Cache) Keys() []Key {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]Key, 0, len(c.entries))
	for id, e := range c.entries {
		keys = append(keys, Key{ID: id, Version: e.version})
	}
	return keys
}

// Wait blocks until the background refreshes running now have finished.
func (c *Cache) Wait() { c.background.Wait() }
