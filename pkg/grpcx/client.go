package grpcx

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

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
// A unary call to a loopback port of a server of this process open to
// in-process calls (Server.ServeLocal, the all-in-one binary) runs there
// without crossing the network; interceptors given in extra then do not run.
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
		grpc.WithChainUnaryInterceptor(requestIDClientInterceptor, identity.UnaryClientInterceptor(), localClientInterceptor(target)),
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

// RetryUnavailable is a Dial option that retries calls of the named
// methods ("package.Service" for all of its methods, or
// "package.Service/Method") that fail with UNAVAILABLE from the transport —
// a replica that died, restarted or went away mid-call — up to 3 attempts
// in all, 20 then 40 ms apart, each on the next replica round-robin. An
// UNAVAILABLE the server chose to answer (it carries an ErrorInfo reason,
// e.g. ALL_SOURCES_FAILED) is not retried: another replica would fail the
// same way, only later. Name only idempotent methods: the call may have run
// on the replica that died. Retries are throttled per connection (gRPC's
// token bucket: 100 tokens, 1 taken per failure, 0.1 given back per
// success; no retries while half or fewer are left) so that an outage of
// every replica does not multiply the load.
func RetryUnavailable(methods ...string) grpc.DialOption {
	r := &retrier{methods: map[string]bool{}, tokens: retryMaxTokens}
	for _, m := range methods {
		r.methods["/"+strings.TrimPrefix(m, "/")] = true
	}
	return grpc.WithChainUnaryInterceptor(r.intercept)
}

const (
	retryAttempts  = 3
	retryBackoff   = 20 * time.Millisecond
	retryMaxTokens = 100
	retryTokenBack = 0.1
)

// retrier is the state of RetryUnavailable on one connection.
type retrier struct {
	methods map[string]bool
	mu      sync.Mutex
	tokens  float64
}

// covers reports whether method ("/pkg.Service/Method") is to be retried.
func (r *retrier) covers(method string) bool {
	if r.methods[method] {
		return true
	}
	svc, _, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	return r.methods["/"+svc]
}

// record updates the throttle with an attempt's outcome and reports whether
// a retry is allowed.
func (r *retrier) record(failed bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !failed {
		r.tokens = min(r.tokens+retryTokenBack, retryMaxTokens)
		return false
	}
	r.tokens = max(r.tokens-1, 0)
	return r.tokens > retryMaxTokens/2
}

func (r *retrier) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if !r.covers(method) {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	backoff := retryBackoff
	for attempt := 1; ; attempt++ {
		err := invoker(ctx, method, req, reply, cc, opts...)
		transport := status.Code(err) == codes.Unavailable && Reason(err) == ""
		if !r.record(transport) || attempt == retryAttempts || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff *= 2
	}
}

func requestIDClientInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if id := requestid.From(ctx); id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, requestid.MetadataKey, id)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
