package rest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/cors"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/altus4/altus/gateway/internal/clientip"
	gwconfig "github.com/altus4/altus/gateway/internal/config"
	"github.com/altus4/altus/gateway/internal/ratelimit"
	"github.com/altus4/altus/pkg/config"
	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/identity"
)

// UsageRecorder counts API-key requests.
type UsageRecorder interface {
	Record(keyID, ip string, t time.Time)
}

// Options are the gateway's dependencies.
type Options struct {
	Config        gwconfig.Config
	Logger        *slog.Logger
	Registry      prometheus.Registerer
	Signer        *identity.Signer
	Authenticator identity.Authenticator
	Limiter       *ratelimit.Limiter
	Usage         UsageRecorder
	// Health answers GET /health.
	Health http.Handler
	// OpenAPI is the document served at /api/v1/openapi.json.
	OpenAPI []byte
	// Connections to the services whose routes the gateway serves.
	Account, DBRouter, Search grpc.ClientConnInterface
	// EdgeHits, when set, lets the edge answer repeated searches from their
	// edge pages and records those searches through it; nil sends every
	// search to the search service.
	EdgeHits EdgeRecorder
	// EdgePageBytes bounds the edge pages the gateway holds between
	// searches (0 holds none: every hit is sent by the cache service).
	EdgePageBytes int
}

// EdgeRecorder records the searches the edge answers itself (edgehits.Reporter).
type EdgeRecorder interface {
	Record(*searchv1.CachedSearch)
	FlushFor(ctx context.Context, searchID string)
}

// Gateway is the REST edge.
type Gateway struct {
	cfg     gwconfig.Config
	log     *slog.Logger
	signer  *identity.Signer
	auth    identity.Authenticator
	limiter *ratelimit.Limiter
	usage   UsageRecorder
	ips     *clientip.Resolver
	keyEnvs map[string]bool
	started time.Time

	marshaler   *Marshaler
	edge        EdgeRecorder
	edgeMetrics *edgeMetrics
	pages       *edgePages
}

// New builds the edge's HTTP handler.
func New(ctx context.Context, o Options) (http.Handler, error) {
	g := &Gateway{
		cfg: o.Config, log: o.Logger, signer: o.Signer, auth: o.Authenticator,
		limiter: o.Limiter, usage: o.Usage, ips: clientip.New(o.Config.Proxies),
		keyEnvs: map[string]bool{}, started: time.Now(),
		marshaler: NewMarshaler(), edge: o.EdgeHits, edgeMetrics: newEdgeMetrics(o.Registry),
		pages: newEdgePages(o.EdgePageBytes),
	}
	for _, e := range o.Config.KeyEnvironments {
		g.keyEnvs[e] = true
	}

	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, g.marshaler),
		runtime.WithForwardResponseRewriter(rewriteResponse),
		runtime.WithForwardResponseOption(writeSuccessStatus),
		runtime.WithErrorHandler(handleError),
		runtime.WithRoutingErrorHandler(handleRoutingError),
		// Only Cache-Control reaches the services (no-cache bypasses the
		// search result cache); the caller's identity travels as the
		// gateway's signed assertion, never as a client header.
		runtime.WithIncomingHeaderMatcher(func(k string) (string, bool) {
			if strings.EqualFold(k, "Cache-Control") {
				return "cache-control", true
			}
			return "", false
		}),
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
		// Ask services for responses pre-rendered as REST JSON where they
		// offer it (search pages), so the edge passes them through.
		// With the edge cache on, ask it to store edge pages as well,
		// except for a no-cache search: that caller reads no stored page,
		// and the page stored for the search service (which stores the
		// edge page on its first hit) is enough for the next.
		runtime.WithMetadata(func(_ context.Context, r *http.Request) metadata.MD {
			if g.edge != nil && !noCacheHeader(r.Header.Values("Cache-Control")) {
				return metadata.Pairs(RenderMetadataKey, "json", EdgeMetadataKey, "store")
			}
			return metadata.Pairs(RenderMetadataKey, "json")
		}),
		runtime.WithMiddlewares(g.enforce),
		runtime.WithDisableHTTPMethodOverride(),
	)
	if err := accountv1.RegisterAccountServiceHandlerClient(ctx, mux, accountv1.NewAccountServiceClient(o.Account)); err != nil {
		return nil, fmt.Errorf("gateway: register account routes: %w", err)
	}
	if err := dbrouterv1.RegisterDBRouterServiceHandlerClient(ctx, mux, dbrouterv1.NewDBRouterServiceClient(o.DBRouter)); err != nil {
		return nil, fmt.Errorf("gateway: register database routes: %w", err)
	}
	if err := searchv1.RegisterSearchServiceHandlerClient(ctx, mux, searchv1.NewSearchServiceClient(o.Search)); err != nil {
		return nil, fmt.Errorf("gateway: register search routes: %w", err)
	}
	if err := searchv1.RegisterAnalyticsServiceHandlerClient(ctx, mux, searchv1.NewAnalyticsServiceClient(o.Search)); err != nil {
		return nil, fmt.Errorf("gateway: register analytics routes: %w", err)
	}

	root := http.NewServeMux()
	root.Handle("/health", onlyGet(o.Health))
	root.Handle("/api/v1/management/health", onlyGet(http.HandlerFunc(g.managementHealth)))
	root.Handle("/api/v1/openapi.json", onlyGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(o.OpenAPI)
	})))
	root.Handle("/", mux)

	var h http.Handler = root
	h = withTimeout(o.Config.RequestTimeout)(h)
	h = checkBody(o.Config.MaxBodyBytes)(h)
	h = corsFor(o.Config.AllowedOrigins).Handler(h)
	h = measure(newRequestDuration(o.Registry))(h)
	h = requestMeta(h)
	h = otelhttp.NewHandler(h, "gateway", otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		return r.Method
	}))
	return h, nil
}

// RenderMetadataKey asks a service for a response pre-rendered as REST JSON.
const RenderMetadataKey = "x-altus-render"

// EdgeMetadataKey ("store") asks the search service to store the page of
// a search for the edge too (pkg/edgecache).
const EdgeMetadataKey = "x-altus-edge"

type successStatusKey struct{}

// writeSuccessStatus answers 201 on routes that create something.
func writeSuccessStatus(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	if st, ok := ctx.Value(successStatusKey{}).(int); ok {
		w.WriteHeader(st)
	}
	return nil
}

func onlyGet(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			WriteError(w, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "Method "+r.Method+" is not allowed on "+r.URL.Path+".", nil)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func corsFor(origins []string) *cors.Cors {
	opts := cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions},
		AllowedHeaders: []string{"Authorization", "Content-Type", "X-Request-ID", "Cache-Control"},
		ExposedHeaders: []string{"X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Tier", "Retry-After"},
		MaxAge:         600,
	}
	for _, o := range origins {
		if o == "*" {
			opts.AllowedOrigins = []string{"*"}
			break
		}
	}
	if len(opts.AllowedOrigins) > 0 && opts.AllowedOrigins[0] != "*" {
		opts.AllowCredentials = true
	}
	return cors.New(opts)
}

// managementHealth answers GET /api/v1/management/health (v1 shape, enveloped).
func (g *Gateway) managementHealth(w http.ResponseWriter, r *http.Request) {
	WriteData(w, r, http.StatusOK, map[string]any{
		"status":                "healthy",
		"timestamp":             time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"version":               config.Version,
		"uptime":                time.Since(g.started).Seconds(),
		"authenticationMethods": []string{"jwt", "api-key"},
	})
}
