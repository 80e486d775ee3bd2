// Package cacheclient stores search pages for the search domain through the
// cache service, which owns every Redis key: versioned entries, so that a
// page written under older versions of the user's sources is never read.
package cacheclient

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/services/search/internal/search"
)

// Client implements search.ResultCache over CacheService.GetVersioned and
// SetVersioned.
type Client struct {
	c cachev1.CacheServiceClient
}

// New returns a Client over a cache service connection.
func New(c cachev1.CacheServiceClient) *Client { return &Client{c: c} }

// Get reads the versions of versionKeys and the value stored under key and
// those versions. The caller bounds the call with the context's deadline.
func (c *Client) Get(ctx context.Context, versionKeys []string, key string) ([]byte, []int64, bool, time.Duration, error) {
	resp, err := c.c.GetVersioned(ctx, &cachev1.GetVersionedRequest{VersionKeys: versionKeys, Key: key})
	if err != nil {
		return nil, nil, false, 0, fmt.Errorf("cache: get versioned: %w", err)
	}
	var ttl time.Duration
	if resp.GetTtl() != nil {
		ttl = max(resp.GetTtl().AsDuration(), 0)
	}
	return resp.GetValue(), resp.GetVersions(), resp.GetFound(), ttl, nil
}

// Versions reads the versions of versionKeys, not a value.
func (c *Client) Versions(ctx context.Context, versionKeys []string) ([]int64, error) {
	resp, err := c.c.GetVersioned(ctx, &cachev1.GetVersionedRequest{VersionKeys: versionKeys, VersionsOnly: true})
	if err != nil {
		return nil, fmt.Errorf("cache: read versions: %w", err)
	}
	return resp.GetVersions(), nil
}

// Set stores each entry's value under its key and versions for ttl, in one
// SetVersioned call.
func (c *Client) Set(ctx context.Context, versions []int64, ttl time.Duration, entries ...search.CacheEntry) error {
	if len(entries) == 0 {
		return nil
	}
	req := &cachev1.SetVersionedRequest{Key: entries[0].Key, Versions: versions, Value: entries[0].Value, Ttl: durationpb.New(ttl)}
	for _, e := range entries[1:] {
		req.Also = append(req.Also, &cachev1.VersionedValue{Key: e.Key, Value: e.Value})
	}
	if _, err := c.c.SetVersioned(ctx, req); err != nil {
		return fmt.Errorf("cache: set versioned: %w", err)
	}
	return nil
}
