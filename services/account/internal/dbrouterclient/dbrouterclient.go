// Package dbrouterclient answers the account domain's question "which data
// sources does this user have?" through the dbrouter service.
package dbrouterclient

import (
	"context"
	"fmt"

	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
)

// Client implements account.DataSources over DBRouterService.ListDataSources.
type Client struct {
	c dbrouterv1.DBRouterServiceClient
}

// New returns a Client over a dbrouter connection (pkg/grpcx.Dial, which
// forwards the caller's identity assertion carried by the context).
func New(c dbrouterv1.DBRouterServiceClient) *Client { return &Client{c: c} }

// DataSourceIDs lists the ids of the data sources of the user the context
// acts for. The caller bounds the call with the context's deadline.
func (c *Client) DataSourceIDs(ctx context.Context) ([]string, error) {
	resp, err := c.c.ListDataSources(ctx, &dbrouterv1.ListDataSourcesRequest{})
	if err != nil {
		return nil, fmt.Errorf("dbrouter: list data sources: %w", err)
	}
	ids := make([]string, 0, len(resp.GetConnections()))
	for _, conn := range resp.GetConnections() {
		ids = append(ids, conn.GetId())
	}
	return ids, nil
}
