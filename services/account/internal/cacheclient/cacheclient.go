// Package cacheclient reads rate-limit windows for the account domain
// through the cache service, which owns every Redis key.
package cacheclient

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/services/account/internal/account"
)

// Client implements account.RateLimits over CacheService.PeekRateLimit.
type Client struct {
	c cachev1.CacheServiceClient
}

// New returns a Client over a cache service connection.
func New(c cachev1.CacheServiceClient) *Client { return &Client{c: c} }

// PeekRateLimit reports the window counted under key without counting a
// request. The caller bounds the call with the context's deadline.
func (c *Client) PeekRateLimit(ctx context.Context, key string, limit int, window time.Duration) (account.RateWindow, error) {
	resp, err := c.c.PeekRateLimit(ctx, &cachev1.PeekRateLimitRequest{
		Key: key, Limit: int32(limit), Window: durationpb.New(window),
	})
	if err != nil {
		return account.RateWindow{}, fmt.Errorf("cache: peek rate limit: %w", err)
	}
	w := account.RateWindow{Remaining: int(resp.GetRemaining())}
	if resp.GetResetTime() != nil {
		w.ResetTime = resp.GetResetTime().AsTime()
	}
	return w, nil
}
