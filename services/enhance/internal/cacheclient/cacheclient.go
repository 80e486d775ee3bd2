// Package cacheclient gives the enhancement domain the cache service, which
// owns every Redis key: the provider rate limit shared by all replicas
// (Allow) and the embeddings cache (Get and Set).
package cacheclient

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
)

// Client implements enhance.SharedLimiter and enhance.EmbedCache over
// CacheService. The caller bounds each call with the context's deadline.
type Client struct {
	c cachev1.CacheServiceClient
}

// New returns a Client over a cache service connection.
func New(c cachev1.CacheServiceClient) *Client { return &Client{c: c} }

// Allow counts one call against limit per window under key.
func (c *Client) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	resp, err := c.c.Allow(ctx, &cachev1.AllowRequest{Key: key, Limit: int32(min(limit, 1<<31-1)), Window: durationpb.New(window)})
	if err != nil {
		return false, fmt.Errorf("cache: allow: %w", err)
	}
	return resp.GetAllowed(), nil
}

// Get reads the value under key.
func (c *Client) Get(ctx context.Context, key string) ([]byte, bool, error) {
	resp, err := c.c.Get(ctx, &cachev1.GetRequest{Key: key})
	if err != nil {
		return nil, false, fmt.Errorf("cache: get: %w", err)
	}
	return resp.GetValue(), resp.GetFound(), nil
}

// Set stores value under key for ttl.
func (c *Client) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if _, err := c.c.Set(ctx, &cachev1.SetRequest{Key: key, Value: value, Ttl: durationpb.New(ttl)}); err != nil {
		return fmt.Errorf("cache: set: %w", err)
	}
	return nil
}
