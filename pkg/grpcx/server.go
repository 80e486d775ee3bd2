package grpcx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/requestid"
)

// MaxMessageSize bounds every message sent or received (16 MiB).
const MaxMessageSize = 16 << 20

// Connection ages: a client reconnects at least this often (the server
// sends GOAWAY; new calls go to the new connection, through the balancer,
// while calls in flight finish within the grace).
const (
	DefaultMaxConnectionAge = 5 * time.Minute
	MaxConnectionAgeGrace   = 30 * time.Second
)

// ServerOptions configure NewServer.
type ServerOptions struct {
	// Logger receives one line per call and every masked internal error.
	Logger *slog.Logger
	// Registry receives the per-method gRPC metrics; nil registers none.
	Registry prometheus.Registerer
	// Signer verifies identity assertions; nil disables identity resolution.
	Signer *identity.Signer
	// Authenticator checks bearer credentials of clients that call the
	// service directly; nil accepts assertions only.
	Authenticator identity.Authenticator
	// MaxConnectionAge is how long a client connection lives before the
	// server asks the client (GOAWAY) to open a new one, so that clients
	// spread over replicas added since they connected (default
	// DefaultMaxConnectionAge); calls in flight get MaxConnectionAgeGrace.
	MaxConnectionAge time.Duration
}

// Server is a gRPC server with its health service.
type Server struct {
	*grpc.Server
	// Health is the grpc.health.v1 service; set statuses through it.
	Health  *health.Server
	metrics *grpcprom.ServerMetrics
	// unary is the interceptor chain, for in-process calls (ServeLocal).
	unary    grpc.UnaryServerInterceptor
	services map[string]registered
}

// NewServer returns a server with the suite's options and interceptor chain:
// recovery, request id, identity, logging, error mapping. Register services,
// then call Ready.
func NewServer(o ServerOptions) *Server {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
		grpcprom.WithHistogramBuckets([]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}),
	))
	if o.Registry != nil {
		o.Registry.MustRegister(metrics)
	}
	chain := []grpc.UnaryServerInterceptor{
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
			ref := uuid.NewString()
			log.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(p), "ref", ref, "stack", string(debug.Stack()))
			return ErrorWithMetadata(codes.Internal, ReasonInternal, "Internal error (reference "+ref+").", map[string]string{"ref": ref})
		})),
		requestIDServerInterceptor,
		metrics.UnaryServerInterceptor(),
	}
	if o.Signer != nil {
		chain = append(chain, identityServerInterceptor(o.Signer, o.Authenticator))
	}
	chain = append(chain,
		callLogInterceptor(log, logging.UnaryServerInterceptor(slogAdapter(log), logging.WithLogOnEvents(logging.FinishCall), logging.WithLevels(callLevel))),
		errorServerInterceptor(log),
	)
	age := o.MaxConnectionAge
	if age <= 0 {
		age = DefaultMaxConnectionAge
	}
	srv := grpc.NewServer(
		// Calls run on long-lived workers, whose stacks have grown once,
		// instead of a new goroutine each (whose stack grows on every
		// call); beyond them a call gets its own goroutine as usual.
		grpc.NumStreamWorkers(streamWorkers()),
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(chain...),
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: 5 * time.Minute, Time: 30 * time.Second, Timeout: 10 * time.Second,
			MaxConnectionAge: age, MaxConnectionAgeGrace: MaxConnectionAgeGrace,
		}),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return &Server{Server: srv, Health: hs, metrics: metrics, unary: chainUnary(chain)}
}

// chainUnary runs interceptors in order, the first outermost, as
// grpc.ChainUnaryInterceptor does.
func chainUnary(chain []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		next := handler
		for i := len(chain) - 1; i >= 0; i-- {
			in, h := chain[i], next
			next = func(ctx context.Context, req any) (any, error) { return in(ctx, req, info, h) }
		}
		return next(ctx, req)
	}
}

// streamWorkers is the number of goroutines kept to run calls.
func streamWorkers() uint32 { return uint32(max(16, 4*runtime.GOMAXPROCS(0))) }

// Ready marks every registered service (and the whole server, "") SERVING
// and initialises their metrics. Call it after registering services.
func (s *Server) Ready() {
	s.metrics.InitializeMetrics(s.Server)
	for name := range s.GetServiceInfo() {
		s.Health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	s.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
}

// Drain marks every service NOT_SERVING so that balancers stop sending work.
func (s *Server) Drain() { s.Health.Shutdown() }

func requestIDServerInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	id := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(requestid.MetadataKey); len(v) > 0 {
			id = v[0]
		}
	}
	if id == "" {
		id = requestid.New()
	} else {
		id = requestid.Sanitize(id)
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(requestid.MetadataKey, id))
	return handler(requestid.With(ctx, id), req)
}

func identityServerInterceptor(signer *identity.Signer, auth identity.Authenticator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if isInfrastructure(info.FullMethod) {
			return handler(ctx, req)
		}
		ctx, err := identity.Resolve(ctx, signer, auth)
		if err != nil {
			if _, ok := status.FromError(err); ok {
				return nil, err
			}
			return nil, Error(codes.Unauthenticated, "INVALID_TOKEN", "The credentials presented are not valid.")
		}
		return handler(ctx, req)
	}
}

func isInfrastructure(method string) bool {
	return len(method) > 13 && (method[:13] == "/grpc.health." || method[:17] == "/grpc.reflection")
}

// errorServerInterceptor masks errors that are not status errors: the caller
// gets INTERNAL with a reference id, the log gets the full error.
func errorServerInterceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err == nil {
			return resp, nil
		}
		if _, ok := status.FromError(err); ok {
			return resp, err
		}
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return nil, Error(codes.DeadlineExceeded, ReasonTimeout, "The request took too long.")
		case errors.Is(err, context.Canceled):
			return nil, Error(codes.Canceled, "CANCELLED", "The request was cancelled.")
		}
		ref := uuid.NewString()
		log.ErrorContext(ctx, "internal error", "method", info.FullMethod, "error", err.Error(), "ref", ref)
		return nil, ErrorWithMetadata(codes.Internal, ReasonInternal, "Internal error (reference "+ref+").", map[string]string{"ref": ref})
	}
}

// callLevel logs successful calls at debug (a line per call costs real CPU
// at thousands of calls a second), caller mistakes at info and failures of
// the service or its dependencies at warn or error.
func callLevel(code codes.Code) logging.Level {
	switch code {
	case codes.OK:
		return logging.LevelDebug
	case codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists,
		codes.PermissionDenied, codes.Unauthenticated, codes.FailedPrecondition,
		codes.OutOfRange, codes.ResourceExhausted, codes.Aborted:
		return logging.LevelInfo
	case codes.Unavailable, codes.DeadlineExceeded, codes.Unimplemented:
		return logging.LevelWarn
	}
	return logging.LevelError
}

// callLogInterceptor logs one line per finished call at callLevel. With
// debug enabled every call goes through full (go-grpc-middleware's logging,
// every field); otherwise a call is timed and, only when its outcome's
// level is enabled (a failure), logged with the same main fields, so that
// the many successful calls cost no log line to build.
func callLogInterceptor(log *slog.Logger, full grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if log.Enabled(ctx, slog.LevelDebug) {
			return full(ctx, req, info, handler)
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		code := status.Code(err)
		lvl := slog.Level(callLevel(code))
		if !log.Enabled(ctx, lvl) {
			return resp, err
		}
		service, method := splitMethod(info.FullMethod)
		attrs := []slog.Attr{
			slog.String("protocol", "grpc"), slog.String("grpc.component", "server"),
			slog.String("grpc.service", service), slog.String("grpc.method", method),
			slog.String("grpc.method_type", "unary"),
			slog.String("grpc.start_time", start.UTC().Format(time.RFC3339)),
			slog.String("grpc.code", code.String()),
		}
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			attrs = append(attrs, slog.String("peer.address", p.Addr.String()))
		}
		if d, ok := ctx.Deadline(); ok {
			attrs = append(attrs, slog.String("grpc.request.deadline", d.UTC().Format(time.RFC3339)))
		}
		if err != nil {
			attrs = append(attrs, slog.String("grpc.error", err.Error()))
		}
		attrs = append(attrs, slog.String("grpc.time_ms", strconv.FormatFloat(float64(time.Since(start))/float64(time.Millisecond), 'f', 3, 64)))
		log.LogAttrs(ctx, lvl, "finished call", attrs...)
		return resp, err
	}
}

// splitMethod splits "/pkg.Service/Method".
func splitMethod(full string) (service, method string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

func slogAdapter(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}
