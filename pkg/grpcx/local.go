package grpcx

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// In-process calls. In the all-in-one binary every service's server runs
// in the process of its clients; a unary call from a client dialed to
// 127.0.0.1:<port> (or localhost, or [::1]) of such a server then runs the
// server's handler directly, through the server's own interceptor chain,
// instead of through HTTP/2 over loopback. The handler sees what it would
// see over the network and nothing more: the deadline, the cancellation,
// the metadata (as incoming metadata), a peer, the trace context, a copy
// of the request; none of the caller's context values. The caller gets a
// copy of the answer, the headers and trailers the handler set (grpc.Header
// and grpc.Trailer call options), and the error as a status. Streams,
// health checks and reflection still go through the network. Each call is
// traced as a client span and a server span named by its method, as
// otelgrpc names them.

// localServers are the servers of this process open to in-process calls,
// by port.
var localServers = struct {
	sync.RWMutex
	byPort map[string]*Server
	any    atomic.Bool
}{byPort: map[string]*Server{}}

// registered is one service of a Server, for in-process calls.
type registered struct {
	impl    any
	methods map[string]grpc.MethodDesc
}

// RegisterService registers a service on the gRPC server and keeps it for
// in-process calls (ServeLocal).
func (s *Server) RegisterService(sd *grpc.ServiceDesc, impl any) {
	s.Server.RegisterService(sd, impl)
	methods := make(map[string]grpc.MethodDesc, len(sd.Methods))
	for _, m := range sd.Methods {
		methods[m.MethodName] = m
	}
	if s.services == nil {
		s.services = map[string]registered{}
	}
	s.services[sd.ServiceName] = registered{impl: impl, methods: methods}
}

// ServeLocal opens the server's services to in-process unary calls from
// clients of this process dialed to a loopback address on port (the port
// the server listens on). The returned function closes them again: calls
// go through the network from then on.
func (s *Server) ServeLocal(port string) (stop func()) {
	localServers.Lock()
	localServers.byPort[port] = s
	localServers.any.Store(true)
	localServers.Unlock()
	return func() {
		localServers.Lock()
		if localServers.byPort[port] == s {
			delete(localServers.byPort, port)
		}
		localServers.Unlock()
	}
}

// localPort is the port of target when it is one loopback address, or "".
func localPort(target string) string {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return ""
	}
	switch host {
	case "127.0.0.1", "localhost", "::1":
		return port
	}
	return ""
}

// localClientInterceptor runs the calls of a connection to target in
// process when a server of this process serves them there (ServeLocal).
func localClientInterceptor(target string) grpc.UnaryClientInterceptor {
	port := localPort(target)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if port == "" || !localServers.any.Load() {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		localServers.RLock()
		s := localServers.byPort[port]
		localServers.RUnlock()
		if s == nil {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		service, name := splitMethod(method)
		svc, ok := s.services[service]
		md, found := svc.methods[name]
		if !ok || !found {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		return s.callLocal(ctx, method, service, name, svc.impl, md, req, reply, opts)
	}
}

var localTracer = otel.Tracer("github.com/altus4/altus/pkg/grpcx")

// localPeer is the peer a handler sees for an in-process call.
var localPeer = &peer.Peer{Addr: &net.UnixAddr{Name: "in-process", Net: "unix"}}

func (s *Server) callLocal(ctx context.Context, method, service, name string, impl any, md grpc.MethodDesc, req, reply any, opts []grpc.CallOption) error {
	spanName := strings.TrimPrefix(method, "/")
	attrs := trace.WithAttributes(attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", service), attribute.String("rpc.method", name))
	ctx, client := localTracer.Start(ctx, spanName, trace.WithSpanKind(trace.SpanKindClient), attrs)
	defer client.End()

	// The handler's context: what crosses a network, no more.
	sctx := context.Context(detached{ctx})
	if out, ok := metadata.FromOutgoingContext(ctx); ok {
		sctx = metadata.NewIncomingContext(sctx, out.Copy())
	}
	sctx = peer.NewContext(sctx, localPeer)
	stream := &localStream{method: method}
	sctx = grpc.NewContextWithServerTransportStream(sctx, stream)
	sctx = trace.ContextWithRemoteSpanContext(sctx, client.SpanContext())
	sctx, server := localTracer.Start(sctx, spanName, trace.WithSpanKind(trace.SpanKindServer), attrs)

	dec := func(v any) error {
		proto.Merge(v.(proto.Message), req.(proto.Message))
		return nil
	}
	resp, err := md.Handler(impl, sctx, dec, s.unary)
	switch m, ok := resp.(proto.Message); {
	case err != nil:
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			err = status.FromContextError(ctxErr).Err()
		} else {
			err = status.Convert(err).Err()
		}
	case ok && m.ProtoReflect().IsValid():
		proto.Merge(reply.(proto.Message), m)
	default:
		// As over the network, where a nil answer cannot be encoded.
		err = status.Error(codes.Internal, "grpc: error while marshaling: the handler answered nothing")
	}
	if err != nil {
		msg := status.Convert(err).Message()
		server.SetStatus(otelcodes.Error, msg)
		client.SetStatus(otelcodes.Error, msg)
	}
	server.End()
	stream.mu.Lock()
	header, trailer := stream.header, stream.trailer
	stream.mu.Unlock()
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = header
		case grpc.TrailerCallOption:
			*o.TrailerAddr = trailer
		}
	}
	return err
}

// detached carries a context's deadline and cancellation, not its values.
type detached struct{ parent context.Context }

func (d detached) Deadline() (time.Time, bool) { return d.parent.Deadline() }
func (d detached) Done() <-chan struct{}       { return d.parent.Done() }
func (d detached) Err() error                  { return d.parent.Err() }
func (d detached) Value(any) any               { return nil }

// localStream takes the headers and trailers a handler sets.
type localStream struct {
	method          string
	mu              sync.Mutex
	header, trailer metadata.MD
}

func (l *localStream) Method() string { return l.method }

func (l *localStream) SetHeader(md metadata.MD) error {
	l.mu.Lock()
	l.header = metadata.Join(l.header, md)
	l.mu.Unlock()
	return nil
}

func (l *localStream) SendHeader(md metadata.MD) error { return l.SetHeader(md) }

func (l *localStream) SetTrailer(md metadata.MD) error {
	l.mu.Lock()
	l.trailer = metadata.Join(l.trailer, md)
	l.mu.Unlock()
	return nil
}
