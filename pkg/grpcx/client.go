package grpcx

import (
	"context"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/requestid"
)

// serviceConfig balances calls across every address the target resolves to.
const serviceConfig = `{"loadBalancingConfig":[{"round_robin":{}}]}`

// Dial returns a client connection to target (host:port or any gRPC target,
// e.g. dns:///search:50051) with OpenTelemetry, keepalive, message size
// limits, round-robin balancing, and forwarding of the request id and the
// caller's identity. The connection is lazy: Dial does not block.
func Dial(target string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
		grpc.WithChainUnaryInterceptor(requestIDClientInterceptor, identity.UnaryClientInterceptor()),
	}
	return grpc.NewClient(target, append(opts, extra...)...)
}

func requestIDClientInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if id := requestid.From(ctx); id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, requestid.MetadataKey, id)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
