// Package cacheclient invalidates the search results the cache service
// holds for a user whenever one of their sources changes: it bumps the
// "sources:<user id>" version counter that every cached result is stored
// under (cache.BumpVersions).
package cacheclient

import (
	"context"
	"fmt"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/services/dbrouter/internal/datasource"
)

// Bumper implements datasource.VersionBumper over CacheService.BumpVersions.
type Bumper struct {
	c cachev1.CacheServiceClient
}

// New returns a Bumper over a cache service client.
func New(c cachev1.CacheServiceClient) *Bumper { return &Bumper{c: c} }

// BumpSources moves the user's source version. The caller bounds the call
// with the context's deadline.
func (b *Bumper) BumpSources(ctx context.Context, userID string) error {
	if _, err := b.c.BumpVersions(ctx, &cachev1.BumpVersionsRequest{VersionKeys: []string{datasource.SourcesVersionKey(userID)}}); err != nil {
		return fmt.Errorf("cache: bump versions: %w", err)
	}
	return nil
}
