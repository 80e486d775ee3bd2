package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/altus4/altus/pkg/edgecache"
	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/identity"
)

// The edge answers a repeated POST /api/v1/search itself: the rate-limit
// count and the read of the request's edge page (pkg/edgecache) are one
// call to the cache service, and on a hit the page the search service
// rendered is written as it is, with the per-request members in front; the
// search is then recorded through the search service in batches
// (edgehits). On a miss, or when the page cannot be used, the request goes
// on to the search service as any other.

// Edge routes.
const (
	searchRoute = "/api/v1/search"
	clicksRoute = "/api/v1/search/clicks"
)

// edgeSearch is a search the edge may answer from an edge page.
type edgeSearch struct {
	req *searchv1.SearchRequest
	// key is the request's edge key, held the page this gateway holds
	// under it (if any), page the page to answer with (when found).
	key  string
	held *heldPage
	page *searchv1.CachedPage
}

// edgeMetrics counts the edge's lookups.
type edgeMetrics struct {
	lookups *prometheus.CounterVec
	held    prometheus.Counter
}

func newEdgeMetrics(reg prometheus.Registerer) *edgeMetrics {
	m := &edgeMetrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "altus4_edge_cache_requests_total",
			Help: "Searches at the REST edge by how the edge page lookup went: hit (answered at the edge), miss (sent to the search service), bypass (no-cache, analytics asked, or the shared store unavailable).",
		}, []string{"result"}),
		held: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "altus4_edge_held_pages_used_total",
			Help: "Searches answered at the edge from a page the gateway held, its versions still current (the cache service sent no page).",
		}),
	}
	for _, r := range []string{"hit", "miss", "bypass"} {
		m.lookups.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.lookups, m.held)
	}
	return m
}

// edgeCandidate returns the search of r when the edge may answer it from an
// edge page, or nil: the edge is off, the caller asked for a fresh page
// (Cache-Control: no-cache), for analytics (per request), or the body is
// not a search the search service would accept as the gateway decodes it
// (it then answers the error). The body stays readable for the search
// service.
func (g *Gateway) edgeCandidate(r *http.Request) *edgeSearch {
	if g.edge == nil || r.Body == nil {
		return nil
	}
	if noCacheHeader(r.Header.Values("Cache-Control")) {
		g.edgeMetrics.lookups.WithLabelValues("bypass").Inc()
		return nil
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	req := &searchv1.SearchRequest{}
	if err := g.marshaler.NewDecoder(bytes.NewReader(body)).Decode(req); err != nil || strings.TrimSpace(req.GetQuery()) == "" {
		return nil
	}
	if req.GetIncludeAnalytics() {
		g.edgeMetrics.lookups.WithLabelValues("bypass").Inc()
		return nil
	}
	return &edgeSearch{req: req}
}

// noCacheHeader reports whether Cache-Control values hold no-cache.
func noCacheHeader(values []string) bool {
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-cache") {
				return true
			}
		}
	}
	return false
}

// edgeLookup returns what AllowAndGet should read for p's search es, and
// the versions of the page this gateway holds for it, or nil when no key
// can be made.
func (g *Gateway) edgeLookup(p identity.Principal, es *edgeSearch) (*cachev1.GetVersionedRequest, []int64) {
	if es == nil {
		return nil, nil
	}
	key, err := edgecache.Key(p.UserID, es.req)
	if err != nil {
		return nil, nil
	}
	es.key = key
	var held []int64
	if es.held = g.pages.get(key, time.Now()); es.held != nil {
		held = es.held.versions
	}
	return &cachev1.GetVersionedRequest{VersionKeys: []string{edgecache.VersionKey(p.UserID)}, Key: key}, held
}

// found keeps the page the lookup read or confirmed, if it is a usable one.
func (g *Gateway) found(ctx context.Context, es *edgeSearch, got *cachev1.GetVersionedResponse, unchanged bool) {
	switch {
	case got == nil:
		g.edgeMetrics.lookups.WithLabelValues("bypass").Inc()
	case unchanged && es.held != nil:
		g.edgeMetrics.lookups.WithLabelValues("hit").Inc()
		g.edgeMetrics.held.Inc()
		es.page = es.held.page
	case !got.GetFound():
		g.pages.drop(es.key)
		g.edgeMetrics.lookups.WithLabelValues("miss").Inc()
	default:
		page, err := edgecache.Decode(got.GetValue())
		if err != nil {
			g.log.WarnContext(ctx, "edge page unreadable; asking the search service", "error", err)
			g.pages.drop(es.key)
			g.edgeMetrics.lookups.WithLabelValues("miss").Inc()
			return
		}
		g.edgeMetrics.lookups.WithLabelValues("hit").Inc()
		g.pages.put(es.key, got.GetVersions(), page, got.GetTtl().AsDuration(), time.Now())
		es.page = page
	}
}

// serveEdgePage answers a search from its edge page, as the search
// service's rendered page is answered (Marshaler.Marshal), and queues the
// search's record.
func (g *Gateway) serveEdgePage(w http.ResponseWriter, r *http.Request, es *edgeSearch) {
	ctx := r.Context()
	now := time.Now()
	var elapsed time.Duration
	if start, ok := ctx.Value(startKey{}).(time.Time); ok {
		elapsed = now.Sub(start)
	}
	// Time-ordered, as the search service's own ids (events are keyed by it).
	id := uuid.NewString()
	if v7, err := uuid.NewV7(); err == nil {
		id = v7.String()
	}
	meta, err := json.Marshal(MetaFor(ctx))
	if err != nil {
		WriteError(w, r, http.StatusInternalServerError, "INTERNAL_ERROR", "The response could not be written.", nil)
		return
	}
	buf := pageBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledPage {
			pageBuffers.Put(buf)
		}
	}()
	b := appendRenderedPage((*buf)[:0], true, elapsed.Milliseconds(), id, es.page.GetRenderedJson(), meta)
	*buf = b
	h := w.Header()
	h.Set("Content-Type", g.marshaler.ContentType(nil))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	g.edge.Record(&searchv1.CachedSearch{
		Assertion: identity.Assertion(ctx), SearchId: id, Summary: es.page.GetSummary(),
		ExecutionTimeMs: float64(elapsed) / float64(time.Millisecond), CreatedAt: timestamppb.New(now),
	})
}

// pageBuffers are the buffers edge answers are written from (pages are
// tens of KB: one allocation each would keep the collector busy).
var pageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// maxPooledPage is the largest buffer kept for another answer.
const maxPooledPage = 512 << 10

// flushClickedSearch makes sure that the search a click names, when this
// edge answered it a moment ago, has been recorded before the click is.
func (g *Gateway) flushClickedSearch(r *http.Request) {
	if g.edge == nil || r.Body == nil {
		return
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return
	}
	var click searchv1.RecordClickRequest
	if g.marshaler.NewDecoder(bytes.NewReader(body)).Decode(&click) == nil && click.GetSearchId() != "" {
		g.edge.FlushFor(r.Context(), click.GetSearchId())
	}
}
