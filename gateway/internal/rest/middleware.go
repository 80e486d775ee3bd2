package rest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/felixge/httpsnoop"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/altus4/altus/gateway/internal/ratelimit"
	"github.com/altus4/altus/pkg/authn"
	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/pkg/identity"
	rl "github.com/altus4/altus/pkg/ratelimit"
	"github.com/altus4/altus/pkg/requestid"
)

// routeInfo lets the inner router tell the outer middleware which route matched.
type routeInfo struct{ template string }

type routeKey struct{}

func routeFrom(ctx context.Context) *routeInfo {
	ri, _ := ctx.Value(routeKey{}).(*routeInfo)
	return ri
}

// requestMeta assigns the request id (a sane client-supplied one is kept),
// echoes it in X-Request-ID, and records the start time for meta.executionTime.
func requestMeta(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestid.Header)
		if id == "" {
			id = requestid.New()
		} else {
			id = requestid.Sanitize(id)
		}
		w.Header().Set(requestid.Header, id)
		ctx := requestid.With(r.Context(), id)
		ctx = WithStart(ctx, time.Now())
		ctx = context.WithValue(ctx, routeKey{}, &routeInfo{})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requestDuration is the scaling guide's request histogram.
func newRequestDuration(reg prometheus.Registerer) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "altus4_request_duration_seconds",
		Help:    "Duration of HTTP requests in seconds.",
		Buckets: []float64{0.1, 0.5, 1, 2, 5, 10},
	}, []string{"method", "route", "status_code"})
	if reg != nil {
		reg.MustRegister(h)
	}
	return h
}

// measure records altus4_request_duration_seconds by route template (never
// the raw path, which would explode the label set).
func measure(h *prometheus.HistogramVec) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m := httpsnoop.CaptureMetrics(next, w, r)
			route := "unmatched"
			if ri := routeFrom(r.Context()); ri != nil && ri.template != "" {
				route = ri.template
			}
			h.WithLabelValues(r.Method, route, strconv.Itoa(m.Code)).Observe(m.Duration.Seconds())
		})
	}
}

// checkBody answers INVALID_JSON for a body that is not a JSON object, and
// 413 for one larger than max, before any service is called.
func checkBody(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch || !strings.HasPrefix(r.URL.Path, "/api/") {
				next.ServeHTTP(w, r)
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
			r.Body.Close()
			if err != nil {
				WriteError(w, r, http.StatusBadRequest, "INVALID_JSON", "The request body could not be read.", nil)
				return
			}
			if int64(len(body)) > max {
				WriteError(w, r, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "The request body is larger than "+strconv.FormatInt(max, 10)+" bytes.", nil)
				return
			}
			trimmed := bytes.TrimSpace(body)
			if len(trimmed) > 0 {
				if !json.Valid(trimmed) {
					WriteError(w, r, http.StatusBadRequest, "INVALID_JSON", "The request body is not valid JSON.", nil)
					return
				}
				if trimmed[0] != '{' {
					WriteError(w, r, http.StatusBadRequest, "INVALID_JSON", "The request body must be a JSON object.", nil)
					return
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			next.ServeHTTP(w, r)
		})
	}
}

// withTimeout bounds every call made for a request.
func withTimeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// enforce is the grpc-gateway middleware that applies a route's policy:
// authentication, authorisation, rate limiting and usage accounting. It runs
// after routing, so it knows the route template.
func (g *Gateway) enforce(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		pat, _ := runtime.HTTPPattern(r.Context())
		tmpl := Template(pat.String())
		if ri := routeFrom(r.Context()); ri != nil {
			ri.template = tmpl
		}
		span := trace.SpanFromContext(r.Context())
		span.SetName(r.Method + " " + tmpl)
		span.SetAttributes(attribute.String("http.route", tmpl))

		pol, ok := Lookup(r.Method, tmpl)
		if !ok {
			g.log.ErrorContext(r.Context(), "route has no policy", "method", r.Method, "route", tmpl)
			WriteError(w, r, http.StatusInternalServerError, "INTERNAL_ERROR", "This route is not configured.", nil)
			return
		}
		var es *edgeSearch
		switch {
		case r.Method == http.MethodPost && tmpl == searchRoute:
			es = g.edgeCandidate(r)
		case r.Method == http.MethodPost && tmpl == clicksRoute:
			g.flushClickedSearch(r)
		}
		ctx, early, ok := g.authorize(w, r, tmpl, pol, es)
		if !ok {
			return
		}
		if es != nil && es.page != nil {
			g.serveEdgePage(w, r.WithContext(ctx), es)
			return
		}
		if pol.Created {
			ctx = context.WithValue(ctx, successStatusKey{}, http.StatusCreated)
		}
		if early != nil {
			gw := early.writer(w)
			next(gw, r.WithContext(ctx), params)
			gw.open()
			return
		}
		next(w, r.WithContext(ctx), params)
	}
}

// authorize applies pol to r. For a search the edge may answer (es), the
// rate-limit count also reads the search's edge page (es.page when found).
// A search the edge does not answer may start before its count answers
// (early, not nil: see earlyAdmission); its context is then cancelled if
// the count refuses it.
func (g *Gateway) authorize(w http.ResponseWriter, r *http.Request, tmpl string, pol Policy, es *edgeSearch) (context.Context, *earlyAdmission, bool) {
	ctx := r.Context()
	ip := g.ips.Of(r)
	if pol.Auth == AuthNone {
		if pol.IPLimited {
			d := g.limiter.Allow(ctx, rl.IPSubject(tmpl, ip), g.cfg.AuthRateLimit, g.cfg.AuthRateWindow)
			setLimitHeaders(w, d, "anonymous")
			if !d.Allowed {
				g.tooMany(w, r, d, "anonymous")
				return nil, nil, false
			}
		}
		return ctx, nil, true
	}

	bearer, fail := bearerOf(r, pol.Auth)
	if fail != nil {
		WriteError(w, r, http.StatusUnauthorized, fail.Code, fail.Message, nil)
		return nil, nil, false
	}
	switch {
	case pol.Auth == AuthSession && authn.IsAPIKey(bearer):
		WriteError(w, r, http.StatusUnauthorized, "INVALID_TOKEN", "This route needs a session token from /api/v1/auth/login; API keys are for the /api/v1/search routes.", nil)
		return nil, nil, false
	case pol.Auth == AuthAPIKey && !authn.IsAPIKey(bearer):
		WriteError(w, r, http.StatusUnauthorized, "INVALID_API_KEY_FORMAT", "This route needs an API key (altus4_sk_live_… or altus4_sk_test_…); create one with POST /api/v1/keys.", nil)
		return nil, nil, false
	}
	p, err := g.auth.Authenticate(ctx, bearer)
	if err != nil {
		e := FromStatus(err)
		WriteError(w, r, e.Status, e.Code, e.Message, e.Details)
		return nil, nil, false
	}
	if pol.Auth == AuthAPIKey {
		if !g.keyEnvs[p.Environment] {
			WriteError(w, r, http.StatusUnauthorized, "INVALID_API_KEY", "This deployment does not accept "+p.Environment+" API keys.", nil)
			return nil, nil, false
		}
		if pol.Permission != "" && !p.Can(pol.Permission) {
			available := p.Permissions
			if available == nil {
				available = []string{}
			}
			WriteError(w, r, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS",
				"This API key lacks the "+pol.Permission+" permission.",
				map[string]any{"required": []string{pol.Permission}, "available": available})
			return nil, nil, false
		}
	}
	if pol.AdminRole && !p.IsAdmin() {
		WriteError(w, r, http.StatusForbidden, "INSUFFICIENT_PRIVILEGES", "This route is for administrators.", nil)
		return nil, nil, false
	}
	// One assertion per caller for minutes, not one per request: services
	// then verify it once (identity.Signer remembers verified assertions).
	sum := sha256.Sum256([]byte(bearer))
	ctx = identity.With(ctx, p, g.signer.SignFor(string(sum[:]), p, identity.AssertionTTL))
	if pol.Auth == AuthAPIKey {
		limit, ok := rl.TierLimit(p.Tier)
		if !ok {
			limit, _ = rl.TierLimit(rl.TierFree)
		}
		subject := rl.APIKeySubject(p.APIKeyID)
		if es == nil && tmpl == searchRoute && g.limiter.MayStartEarly(subject) {
			ectx, early := g.admitEarly(ctx, r, subject, limit, p, ip)
			return ectx, early, true
		}
		var d ratelimit.Decision
		if get, held := g.edgeLookup(p, es); get != nil {
			var got *cachev1.GetVersionedResponse
			var unchanged bool
			d, got, unchanged = g.limiter.AllowAndGet(ctx, subject, limit, rl.Window, get, held)
			if d.Allowed {
				g.found(ctx, es, got, unchanged)
			}
		} else {
			d = g.limiter.Allow(ctx, subject, limit, rl.Window)
		}
		setLimitHeaders(w, d, p.Tier)
		if !d.Allowed {
			g.tooMany(w, r.WithContext(ctx), d, p.Tier)
			return nil, nil, false
		}
		g.usage.Record(p.APIKeyID, ip, time.Now())
	}
	return ctx, nil, true
}

type authFailure struct{ Code, Message string }

// bearerOf extracts the bearer credential with the v1 error codes.
func bearerOf(r *http.Request, kind Auth) (string, *authFailure) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if kind == AuthAPIKey {
			return "", &authFailure{"NO_API_KEY", "An API key is required: send Authorization: Bearer altus4_sk_…"}
		}
		return "", &authFailure{"NO_TOKEN", "A session token is required: send Authorization: Bearer <token from /api/v1/auth/login>."}
	}
	scheme, cred, ok := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return "", &authFailure{"INVALID_AUTH_FORMAT", "The Authorization header must be: Bearer <credential>."}
	}
	return cred, nil
}

func setLimitHeaders(w http.ResponseWriter, d ratelimit.Decision, tier string) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("X-RateLimit-Reset", d.Reset.UTC().Format("2006-01-02T15:04:05.000Z"))
	h.Set("X-RateLimit-Tier", tier)
}

func (g *Gateway) tooMany(w http.ResponseWriter, r *http.Request, d ratelimit.Decision, tier string) {
	secs := int(d.RetryAfter(time.Now()).Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	WriteError(w, r, http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED",
		"Rate limit exceeded: "+strconv.Itoa(d.Limit)+" requests per window for the "+tier+" tier; retry in "+strconv.Itoa(secs)+" seconds.",
		map[string]any{"retryAfter": secs, "limit": d.Limit, "remaining": d.Remaining, "tier": tier})
}
