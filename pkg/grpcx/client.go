package grpcx

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/requestid"
)

// serviceConfig balances calls across every address the target resolves to.
const serviceConfig = `{"loadBalancingConfig":[{"round_robin":{}}]}`

// staticScheme is the resolver scheme of a comma-separated address list;
// each Dial registers its own builder (numbered) on its connection only.
const staticScheme = "altus-static"

var staticSeq atomic.Uint64

// Dial returns a client connection to target with OpenTelemetry, keepalive,
// message size limits, round-robin balancing, and forwarding of the request
// id and the caller's identity. The connection is lazy: Dial does not block.
//
// target is host:port, any gRPC target (e.g. dns:///search:50051, which
// balances over every address the name resolves to), or a comma-separated
// static list of host:port replicas (10.0.1.10:50051,10.0.1.11:50051),
// resolved once through a manual resolver and balanced round-robin: a
// replica that stops answering is skipped until it reconnects.
func Dial(target string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
		grpc.WithChainUnaryInterceptor(requestIDClientInterceptor, identity.UnaryClientInterceptor()),
	}
	if addrs, ok := StaticAddresses(target); ok {
		r := manual.NewBuilderWithScheme(fmt.Sprintf("%s%d", staticScheme, staticSeq.Add(1)))
		state := resolver.State{}
		for _, a := range addrs {
			state.Endpoints = append(state.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{{Addr: a}}})
		}
		r.InitialState(state)
		opts = append(opts, grpc.WithResolvers(r))
		target = r.Scheme() + ":///" + strings.Join(addrs, ",")
	}
	return grpc.NewClient(target, append(opts, extra...)...)
}

// StaticAddresses splits a comma-separated list of host:port addresses; ok
// is false for a single address or a target with a scheme (dns:///...),
// which gRPC resolves itself.
func StaticAddresses(target string) ([]string, bool) {
	if !strings.Contains(target, ",") || strings.Contains(target, "://") {
		return nil, false
	}
	var out []string
	for _, a := range strings.Split(target, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out, len(out) > 0
}

// RetryUnavailable is a Dial option that makes the connection retry calls
// of the named methods ("package.Service" for all of its methods, or
// "package.Service/Method") that fail with UNAVAILABLE, up to 3 attempts
// in all with a 20–200 ms backoff, on the next replica round-robin. Name
// only idempotent methods: UNAVAILABLE also ends a call whose server died
// while processing it. Retries are throttled per connection (gRPC's token
// bucket of 100 tokens: once 50 calls in a row have failed, retries stop
// until successes, each returning 0.1 token, refill it) so that an outage
// of every replica does not multiply the load.
func RetryUnavailable(methods ...string) grpc.DialOption {
	return grpc.WithDefaultServiceConfig(RetryServiceConfig(methods...))
}

// RetryServiceConfig is the service config of RetryUnavailable: round-robin
// balancing and the retry policy of the named methods.
func RetryServiceConfig(methods ...string) string {
	type name struct {
		Service string `json:"service"`
		Method  string `json:"method,omitempty"`
	}
	names := make([]name, 0, len(methods))
	for _, m := range methods {
		svc, method, _ := strings.Cut(m, "/")
		names = append(names, name{Service: svc, Method: method})
	}
	cfg := map[string]any{
		"loadBalancingConfig": []any{map[string]any{"round_robin": map[string]any{}}},
		"methodConfig": []any{map[string]any{
			"name": names,
			"retryPolicy": map[string]any{
				"maxAttempts":          3,
				"initialBackoff":       "0.02s",
				"maxBackoff":           "0.2s",
				"backoffMultiplier":    2,
				"retryableStatusCodes": []string{"UNAVAILABLE"},
			},
		}},
		"retryThrottling": map[string]any{"maxTokens": 100, "tokenRatio": 0.1},
	}
	b, _ := json.Marshal(cfg)
	return string(b)
}

func requestIDClientInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if id := requestid.From(ctx); id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, requestid.MetadataKey, id)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
