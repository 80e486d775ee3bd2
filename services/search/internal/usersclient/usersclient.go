// Package usersclient names users for the analytics domain through the
// account service (AccountService.LookupUsers, an internal call that
// requires the caller's admin role, forwarded with the caller's identity).
package usersclient

import (
	"context"
	"fmt"

	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	"github.com/altus4/altus/services/search/internal/analytics"
)

// MaxIDs is the most ids one LookupUsers call takes.
const MaxIDs = 1000

// Client implements analytics.Users over AccountService.
type Client struct {
	c accountv1.AccountServiceClient
}

// New returns a Client over an account connection (pkg/grpcx.Dial).
func New(c accountv1.AccountServiceClient) *Client { return &Client{c: c} }

// LookupUsers returns the users found among ids, in chunks of MaxIDs.
func (c *Client) LookupUsers(ctx context.Context, ids []string) ([]analytics.UserInfo, error) {
	var out []analytics.UserInfo
	for len(ids) > 0 {
		n := min(len(ids), MaxIDs)
		resp, err := c.c.LookupUsers(ctx, &accountv1.LookupUsersRequest{Ids: ids[:n]})
		if err != nil {
			return out, fmt.Errorf("account: lookup users: %w", err)
		}
		for _, u := range resp.GetUsers() {
			out = append(out, analytics.UserInfo{ID: u.GetId(), Email: u.GetEmail(), Name: u.GetName(), Role: u.GetRole()})
		}
		ids = ids[n:]
	}
	return out, nil
}
