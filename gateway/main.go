// Command gateway is the REST edge of Altus: the v1 API over HTTP, routed by
// grpc-gateway to the suite's gRPC services, with authentication, rate
// limits, the v1 envelope, health and metrics.
package main

import (
	"context"

	"github.com/altus4/altus/gateway/app"
	"github.com/altus4/altus/pkg/process"
)

func main() { process.Main("gateway", run) }

func run(ctx context.Context, args []string) error { return app.Run(ctx, args, process.Env{}) }
