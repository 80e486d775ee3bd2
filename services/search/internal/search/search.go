// Package search is the search service's domain: it validates a request,
// resolves the caller's sources and their FULLTEXT indexes, compiles the
// query per index (pkg/ftquery), runs the plans on every source in
// parallel through dbrouter, fuses and pages the rankings, builds the
// results (ids, typed data, matched columns, snippets, highlights), caches
// the page, and records the search. It also answers suggestions, analysis,
// history and trends. It knows no gRPC: dbrouter, the cache and the events
// table are reached through the small interfaces declared here.
package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/search/internal/events"
)

// Errors of the search domain, mapped to status codes by the adapter.
var (
	// ErrSourceNotFound means a requested source id is not one of the caller's.
	ErrSourceNotFound = errors.New("A requested database was not found: check the ids in databases (GET /api/v1/databases lists yours).")
	// ErrAllSourcesFailed means every source searched failed or timed out.
	ErrAllSourcesFailed = errors.New("Every database searched failed to answer.")
	// ErrUnavailable means a service the search depends on (dbrouter) did not answer.
	ErrUnavailable = errors.New("The search service's dependencies are unavailable; retry shortly.")
)

// AllSourcesFailedError lists the sources of a search that all failed.
type AllSourcesFailedError struct {
	Sources []SourceStatus
}

// Error describes every failed source.
func (e *AllSourcesFailedError) Error() string { return e.PublicMessage() }

// PublicMessage is the message for the caller: each source, its status and why.
func (e *AllSourcesFailedError) PublicMessage() string {
	parts := make([]string, 0, len(e.Sources))
	for _, s := range e.Sources {
		name := s.Name
		if name == "" {
			name = s.ID
		}
		p := fmt.Sprintf("%s (%s", name, s.Status)
		if s.ErrorCode != "" {
			p += ", " + s.ErrorCode
		}
		if s.Message != "" {
			p += ": " + s.Message
		}
		parts = append(parts, p+")")
	}
	return "Every database searched failed to answer: " + strings.Join(parts, "; ") + "."
}

// Is makes errors.Is(err, ErrAllSourcesFailed) true.
func (e *AllSourcesFailedError) Is(target error) bool { return target == ErrAllSourcesFailed }

// EventRecorder takes search events without blocking; *events.Recorder is one.
type EventRecorder interface {
	Record(events.Event) bool
}

// EventStore reads the caller's recorded searches; *events.Store is one.
type EventStore interface {
	History(ctx context.Context, userID string, limit, offset int) ([]events.Event, error)
	Trends(ctx context.Context, userID string, now time.Time) ([]events.Trend, error)
	Popular(ctx context.Context, userID, prefix string, since time.Time, limit int) ([]events.QueryCount, error)
}

// Options configure New.
type Options struct {
	Sources Sources
	// Cache and Codec enable the result cache; nil Cache searches uncached.
	Cache ResultCache
	Codec Codec
	// Events receives every search answered; nil records nothing.
	Events EventRecorder
	// Store reads history, trends and popular queries.
	Store EventStore
	// MaxWindow bounds offset+limit when rankings are fused (default 1000).
	MaxWindow int
	// RankWindow is how many rows each index of a table searched by
	// several indexes ranks, whatever the page (default 200, at most
	// MaxWindow); fused results then page that deep.
	RankWindow int
	// CountScanRows: a table searched by several indexes whose lists are
	// cut is counted by one scan (the rows matching any index) when the
	// server estimates it at most this many rows; otherwise through its
	// indexes (each list counted with its ranking, their intersection
	// apart). 0 never scans.
	CountScanRows int
	// EagerSearches: while at most this many searches run on this
	// service, a search trades work for latency: the intersection of a
	// table searched by two indexes is counted beside the rankings (see
	// earlyCounts), and the page is read in the rankings' calls (see
	// askPage). Past it, the count waits for the rankings and runs
	// only when they were cut, and the page is read beside the counts, as
	// measured best when the databases are busy. 0: DefaultEagerSearches;
	// negative: never eager.
	EagerSearches int
	// CacheTTL is how long a cached page lives (default 60s).
	CacheTTL time.Duration
	// CacheTimeout bounds each cache call (default 100ms).
	CacheTimeout time.Duration
	// SourceTimeout bounds the search of one source (default 5s).
	SourceTimeout time.Duration
	// ExpansionModeTimeout bounds an expansion-mode search of the sources
	// (default 2s, never past SourceTimeout). When a source has not
	// answered by then, the search is run in natural mode instead, and
	// says so: query expansion re-searches with the words of the best
	// rows, which on long texts can take many seconds.
	ExpansionModeTimeout time.Duration
	// ExpansionRetry is how long query expansion is not tried again on a
	// source where it ran out of its time (default 1m; negative: always
	// tried). Expansion-mode searches go straight to natural mode there,
	// and semantic searches leave its candidates out, each saying so.
	ExpansionRetry time.Duration
	// SuggestTimeout bounds GetSuggestions (default 300ms).
	SuggestTimeout time.Duration
	// DidYouMeanTimeout bounds the spelling suggestions of an empty search (default 100ms).
	DidYouMeanTimeout time.Duration
	// Enhance configures the AI enhancements of searches.
	Enhance EnhanceOptions
	// Metrics receives the search metrics; nil records none.
	Metrics *Metrics
	Log     *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// EnhanceOptions configure the AI enhancements of searches.
type EnhanceOptions struct {
	// Enhancer reaches the enhance service (semantic ranking, categories,
	// query optimization, suggestions); nil searches without AI.
	Enhancer Enhancer
	// Budget bounds the enhancement calls of one search, run concurrently
	// after its page is assembled (default 300ms; never past the search's
	// own deadline).
	Budget time.Duration
	// EmbedBudget bounds the Embed call of a semantic search (default 1s).
	EmbedBudget time.Duration
	// ExpansionTimeout bounds a semantic search's query-expansion call on
	// each source (default 1s, never past SourceTimeout); the candidates
	// of a source whose expansion takes longer come from natural mode only.
	ExpansionTimeout time.Duration
	// SemanticWindow is how many rows each index returns to a semantic
	// search in each of its modes (default 100, at most MaxWindow).
	SemanticWindow int
	// SemanticCandidates is how many candidates of a semantic search are
	// embedded (default 200, at most MaxEmbedTexts-1).
	SemanticCandidates int
	// FallbackCacheTTL is how long a page is cached when one of its
	// enhancements came from a fallback or was skipped (default 5s, at
	// most CacheTTL), so that provider-backed answers return soon after
	// the provider does.
	FallbackCacheTTL time.Duration
}

// Service answers searches.
type Service struct {
	o      Options
	bg     sync.WaitGroup
	log    *slog.Logger
	memo   describeMemo
	flight singleflight.Group
	// storing holds the pages being stored, by cache key, until their
	// store ends: a search repeated before then is answered from here.
	storing storingPages
	// slowExpansion are the sources where query expansion ran out of its
	// time lately.
	slowExpansion slowExpansions
	// executing counts the searches running their statements (execute).
	executing atomic.Int64
	// versionsRead is whether the last read of versions answered: a
	// no-cache search searches before its read answers only then (see
	// uncached), not while the cache is failing.
	versionsRead atomic.Bool
}

// New returns a Service.
func New(o Options) *Service {
	if o.MaxWindow <= 0 {
		o.MaxWindow = 1000
	}
	if o.RankWindow <= 0 {
		o.RankWindow = 200
	}
	o.RankWindow = min(o.RankWindow, o.MaxWindow)
	if o.CacheTTL <= 0 {
		o.CacheTTL = 60 * time.Second
	}
	if o.CacheTimeout <= 0 {
		o.CacheTimeout = 100 * time.Millisecond
	}
	if o.SourceTimeout <= 0 {
		o.SourceTimeout = 5 * time.Second
	}
	if o.ExpansionModeTimeout <= 0 {
		o.ExpansionModeTimeout = DefaultExpansionModeTimeout
	}
	o.ExpansionModeTimeout = min(o.ExpansionModeTimeout, o.SourceTimeout)
	if o.ExpansionRetry == 0 {
		o.ExpansionRetry = DefaultExpansionRetry
	}
	if o.SuggestTimeout <= 0 {
		o.SuggestTimeout = 300 * time.Millisecond
	}
	if o.DidYouMeanTimeout <= 0 {
		o.DidYouMeanTimeout = 100 * time.Millisecond
	}
	e := &o.Enhance
	if e.Budget <= 0 {
		e.Budget = DefaultEnhanceBudget
	}
	if e.EmbedBudget <= 0 {
		e.EmbedBudget = DefaultEmbedBudget
	}
	if e.ExpansionTimeout <= 0 {
		e.ExpansionTimeout = DefaultExpansionTimeout
	}
	if e.SemanticWindow <= 0 {
		e.SemanticWindow = DefaultSemanticWindow
	}
	e.SemanticWindow = min(e.SemanticWindow, o.MaxWindow)
	if e.SemanticCandidates <= 0 {
		e.SemanticCandidates = DefaultSemanticCandidates
	}
	e.SemanticCandidates = min(e.SemanticCandidates, MaxEmbedTexts-1)
	if e.FallbackCacheTTL <= 0 {
		e.FallbackCacheTTL = DefaultFallbackCacheTTL
	}
	e.FallbackCacheTTL = min(e.FallbackCacheTTL, o.CacheTTL)
	if o.EagerSearches == 0 {
		o.EagerSearches = DefaultEagerSearches
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Codec == nil {
		o.Cache = nil
	}
	return &Service{o: o, log: o.Log, memo: describeMemo{entries: map[string]memoEntry{}}}
}

// Wait blocks until the background cache writes started by searches end.
func (s *Service) Wait() { s.bg.Wait() }

// Search answers one search for the caller p.
func (s *Service) Search(ctx context.Context, p identity.Principal, req Request) (*Response, error) {
	start := s.o.Now()
	req, err := normalize(req)
	if err != nil {
		return nil, err
	}
	resp, err := s.answer(ctx, p, req, start)
	if err != nil {
		return nil, err
	}
	s.addAnalytics(ctx, p, req, resp)
	s.finish(p, req, resp)
	return resp, nil
}

// answer returns the page of a normalised request: from the cache, or
// searched.
func (s *Service) answer(ctx context.Context, p identity.Principal, req Request, start time.Time) (*Response, error) {
	key := CacheKey(p.UserID, req)
	if req.NoCache && s.o.Cache != nil && s.versionsRead.Load() {
		return s.uncached(ctx, p, req, key, start)
	}
	versions, hit, left := s.cacheGet(ctx, p.UserID, key, req.NoCache)
	if hit == nil {
		return s.fresh(ctx, p, req, key, versions, start)
	}
	if s.wantsEdgePage(req) && len(hit.Rendered) > 0 && left >= minEdgeTTL {
		// The edge missed a page this service has: stored for the
		// edge too, for no longer than the page has left.
		s.edgeSet(ctx, req.EdgeKey, versions, hit.Rendered, summarize(req, hit), left)
	}
	hit.Cached = true
	hit.ExecutionTime = s.o.Now().Sub(start)
	return hit, nil
}

// ran is a fresh search's page, with whether it was stored and for how long.
type ran struct {
	resp      *Response
	cacheable bool
	ttl       time.Duration
}

// fresh runs a search the cache did not answer and stores its page.
// Identical searches that missed the cache at the same time (the same
// caller, normalised request and source versions; not no-cache, which asks
// for a run of its own) share one run: the first runs it and the others
// wait for its page, so a hot page that just expired costs the databases
// one search, not one per caller. The shared run keeps going if its first
// caller goes away, within that caller's deadline.
func (s *Service) fresh(ctx context.Context, p identity.Principal, req Request, key string, versions []int64, start time.Time) (*Response, error) {
	if req.NoCache || versions == nil {
		r, err := s.run(ctx, p, req, key, versions, start)
		return r.resp, err
	}
	led := false // set only in the caller that runs it
	v, err, shared := s.flight.Do(flightKey(key, versions, req.Render), func() (any, error) {
		led = true
		rctx := context.WithoutCancel(ctx)
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			rctx, cancel = context.WithDeadline(rctx, dl)
			defer cancel()
		}
		return s.run(rctx, p, req, key, versions, start)
	})
	if err != nil {
		return nil, err
	}
	r := v.(ran)
	if !shared {
		return r.resp, nil
	}
	// Every caller of a shared run gets its own copy (per-request fields
	// are set on it); its rows are shared, and never changed.
	page := *r.resp
	page.ExecutionTime = s.o.Now().Sub(start)
	if r.cacheable && s.wantsEdgePage(req) && len(page.Rendered) > 0 {
		// The run stored its own caller's edge page; this caller's request
		// may be spelt otherwise.
		s.edgeSet(ctx, req.EdgeKey, versions, page.Rendered, summarize(req, &page), r.ttl)
	}
	if !led {
		s.o.Metrics.coalesced()
	}
	return &page, nil
}

// flightKey identifies identical fresh searches: the cache key (caller and
// normalised request), the versions and whether the page is rendered.
func flightKey(key string, versions []int64, render bool) string {
	var b strings.Builder
	b.WriteString(key)
	for _, v := range versions {
		b.WriteByte('|')
		b.WriteString(strconv.FormatInt(v, 10))
	}
	if render {
		b.WriteString("|render")
	}
	return b.String()
}

// uncached answers a search that asked for no cached page (no-cache): the
// read of the caller's source versions (to store the fresh page under) is
// not waited for before searching. The search starts at once with the
// caller's latest described sources, if the memo holds them, and their
// version is checked when the read answers: the page is kept when it is
// still current, and searched again with a fresh description otherwise
// (a source was added, changed or removed meanwhile), so the answer is
// the one the current sources give. Without a memo entry it waits for the
// versions, as a cached search does.
func (s *Service) uncached(ctx context.Context, p identity.Principal, req Request, key string, start time.Time) (*Response, error) {
	pending := s.readVersions(ctx, p.UserID)
	sources, version, ok := s.memo.latest(memoKey(p.UserID, req.Databases), s.o.Now())
	if !ok {
		r, err := s.run(ctx, p, req, key, pending.wait(), start)
		return r.resp, err
	}
	resp, cacheable, err := s.searchSources(ctx, p, req, sources)
	versions := pending.wait()
	if len(versions) != 1 || versions[0] != version {
		s.o.Metrics.earlyStart("stale")
		r, err := s.run(ctx, p, req, key, versions, start)
		return r.resp, err
	}
	s.o.Metrics.earlyStart("current")
	if err != nil {
		return nil, err
	}
	return s.store(ctx, req, key, versions, resp, cacheable, start).resp, nil
}

// pendingVersions is a read of the caller's source versions under way.
type pendingVersions struct {
	done     chan struct{}
	versions []int64
}

// readVersions starts reading the caller's source versions.
func (s *Service) readVersions(ctx context.Context, userID string) *pendingVersions {
	pv := &pendingVersions{done: make(chan struct{})}
	go func() {
		defer close(pv.done)
		// No page is read with noCache: the key is not needed.
		pv.versions, _, _ = s.cacheGet(ctx, userID, "", true)
	}()
	return pv
}

// wait returns the versions read (nil when the cache did not answer).
func (pv *pendingVersions) wait() []int64 {
	<-pv.done
	return pv.versions
}

// run searches, renders the page when asked, and stores it.
func (s *Service) run(ctx context.Context, p identity.Principal, req Request, key string, versions []int64, start time.Time) (ran, error) {
	resp, cacheable, err := s.search(ctx, p, req, versions)
	if err != nil {
		return ran{}, err
	}
	return s.store(ctx, req, key, versions, resp, cacheable, start), nil
}

// store renders a fresh page when asked and stores it (when cacheable,
// under versions).
func (s *Service) store(ctx context.Context, req Request, key string, versions []int64, resp *Response, cacheable bool, start time.Time) ran {
	var err error
	resp.ExecutionTime = s.o.Now().Sub(start)
	if req.Render && s.o.Codec != nil {
		// Rendered before the page is stored, which then keeps this rendering.
		if resp.Rendered, err = s.o.Codec.Render(resp); err != nil {
			s.log.WarnContext(ctx, "search page not rendered; answering it typed", "error", err)
			resp.Rendered = nil
		}
	}
	out := ran{resp: resp, cacheable: cacheable && versions != nil}
	if out.cacheable && !req.Render && s.o.Codec != nil && resp.Message == nil {
		// A typed caller's page is encoded once, here: its answer is these
		// bytes (with the per-request fields after them) and so is the
		// stored page.
		if m, err := s.o.Codec.Message(resp); err == nil && m != nil {
			resp.Message, resp.ResultCount = m, len(resp.Results)
		}
	}
	if out.cacheable {
		out.ttl = s.o.CacheTTL
		if degraded(resp.Enhancements) {
			out.ttl = s.o.Enhance.FallbackCacheTTL
		}
		var edge *edgePage
		if s.wantsEdgePage(req) && len(resp.Rendered) > 0 {
			edge = &edgePage{key: req.EdgeKey, rendered: resp.Rendered, summary: summarize(req, resp)}
		}
		s.cacheSet(ctx, key, versions, resp, out.ttl, edge)
	}
	return out
}

// addAnalytics adds the caller's trends when asked (never cached).
func (s *Service) addAnalytics(ctx context.Context, p identity.Principal, req Request, resp *Response) {
	if !req.IncludeAnalytics || s.o.Store == nil {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, s.o.SuggestTimeout)
	defer cancel()
	trends, err := s.Trends(tctx, p)
	if err != nil {
		s.log.WarnContext(ctx, "trends for a search not read", "error", err)
		return
	}
	resp.Trends = trends
}

// summarize returns what the event of a search of req answered by resp
// records of its page.
func summarize(req Request, resp *Response) EventSummary {
	ids := make([]string, 0, len(resp.Sources))
	for _, src := range resp.Sources {
		if src.Status != StatusSkipped {
			ids = append(ids, src.ID)
		}
	}
	return EventSummary{
		Query: req.Query, Mode: resp.Mode, Databases: ids,
		ResultCount: resp.NumResults(), TotalCount: resp.TotalCount, ResultOffset: req.Offset,
	}
}

// finish records the search event and its metrics.
func (s *Service) finish(p identity.Principal, req Request, resp *Response) {
	s.o.Metrics.observeSearch(resp)
	if s.o.Events == nil {
		return
	}
	sum := summarize(req, resp)
	// A page from the cache carries the timings of the search that stored
	// it: they are not this search's.
	var timings []events.SourceTiming
	for _, src := range resp.Sources {
		if src.Status != StatusSkipped && !resp.Cached {
			timings = append(timings, events.SourceTiming{ID: src.ID, Millis: src.Elapsed.Milliseconds(),
				Failed: src.Status == StatusFailed || src.Status == StatusTimeout})
		}
	}
	// The event id is the response's search id, per request (never cached).
	resp.SearchID = NewSearchID()
	s.o.Events.Record(events.Event{
		ID: resp.SearchID, UserID: p.UserID, APIKeyID: p.APIKeyID,
		Query: sum.Query, Mode: sum.Mode, Databases: sum.Databases,
		ResultCount: sum.ResultCount, TotalCount: sum.TotalCount, ResultOffset: sum.ResultOffset,
		ExecutionTime: resp.ExecutionTime, Cached: resp.Cached, Sources: timings, CreatedAt: s.o.Now(),
	})
}

// NewSearchID returns a search event id: a time-ordered UUID (version 7),
// so that events, keyed by it, are appended to the end of the table's
// primary key instead of landing on a random page of it (a random key costs
// the database a page read and write per event once the table outgrows its
// buffer pool).
func NewSearchID() string {
	if id, err := uuid.NewV7(); err == nil {
		return id.String()
	}
	return uuid.NewString()
}

// RecordCachedHit records a search the REST edge answered from an edge
// page, for the caller p: its event (history, analytics, clicks) and its
// metrics, as finish does for a hit answered here.
func (s *Service) RecordCachedHit(p identity.Principal, h CachedHit) {
	s.o.Metrics.cacheResult("hit")
	s.o.Metrics.observeDuration(h.Summary.Mode, len(h.Summary.Databases), h.ExecutionTime)
	if s.o.Events == nil {
		return
	}
	s.o.Events.Record(events.Event{
		ID: h.SearchID, UserID: p.UserID, APIKeyID: p.APIKeyID,
		Query: h.Summary.Query, Mode: h.Summary.Mode, Databases: h.Summary.Databases,
		ResultCount: h.Summary.ResultCount, TotalCount: h.Summary.TotalCount, ResultOffset: h.Summary.ResultOffset,
		ExecutionTime: h.ExecutionTime, Cached: true, CreatedAt: h.CreatedAt,
	})
}

// cacheGet looks the page up; it returns the versions to store a fresh page
// under (nil when the cache did not answer), the cached page, if any, and
// how long that page has left to live (0 when unknown). With noCache the
// versions are read but the page is not returned.
func (s *Service) cacheGet(ctx context.Context, userID, key string, noCache bool) ([]int64, *Response, time.Duration) {
	if s.o.Cache == nil {
		return nil, nil, 0
	}
	cctx, cancel := context.WithTimeout(ctx, s.o.CacheTimeout)
	defer cancel()
	var value []byte
	var versions []int64
	var found bool
	var ttl time.Duration
	var err error
	if noCache {
		// The page stored is of no use: its versions are enough.
		versions, err = s.o.Cache.Versions(cctx, []string{VersionKey(userID)})
	} else {
		value, versions, found, ttl, err = s.o.Cache.Get(cctx, []string{VersionKey(userID)}, key)
	}
	s.versionsRead.Store(err == nil)
	if err != nil {
		s.o.Metrics.cacheResult("error")
		s.log.DebugContext(ctx, "result cache unavailable; searching uncached", "error", err)
		return nil, nil, 0
	}
	if !found && !noCache {
		if resp, left, ok := s.storing.get(key, versions, s.o.Now()); ok {
			s.o.Metrics.cacheResult("hit")
			return versions, resp, left
		}
	}
	if !found || noCache {
		s.o.Metrics.cacheResult("miss")
		return versions, nil, 0
	}
	resp, err := s.o.Codec.Decode(value)
	if err != nil {
		s.o.Metrics.cacheResult("error")
		s.log.WarnContext(ctx, "cached search page unreadable; searching again", "error", err)
		return versions, nil, 0
	}
	s.o.Metrics.cacheResult("hit")
	return versions, resp, ttl
}

// edgePage is the edge's copy of a page: its rendering and the summary
// of its search, stored under the edge's own key.
type edgePage struct {
	key      string
	rendered []byte
	summary  EventSummary
}

// cacheSet stores the page in the background (encoding included, off the
// request's path), bounded by CacheTimeout, keeping the request's trace but
// not its cancellation; with the edge's copy of it, when given, in the
// same call. The page is copied first: the caller goes on adding the
// trends, which are never cached.
func (s *Service) cacheSet(ctx context.Context, key string, versions []int64, resp *Response, ttl time.Duration, edge *edgePage) {
	page := *resp
	page.Trends, page.SearchID = nil, ""
	bctx := context.WithoutCancel(ctx)
	done := s.storing.add(key, versions, &page, s.o.Now().Add(ttl))
	s.bg.Go(func() {
		defer done()
		var entries []CacheEntry
		if value, err := s.o.Codec.Encode(&page); err != nil {
			s.log.WarnContext(bctx, "search page not cached: encode", "error", err)
		} else {
			entries = append(entries, CacheEntry{Key: key, Value: value})
		}
		if edge != nil {
			if value, err := s.o.Codec.EncodeEdge(edge.rendered, edge.summary); err != nil {
				s.log.WarnContext(bctx, "edge page not cached: encode", "error", err)
			} else {
				entries = append(entries, CacheEntry{Key: edge.key, Value: value})
			}
		}
		if len(entries) == 0 {
			return
		}
		cctx, cancel := context.WithTimeout(bctx, s.o.CacheTimeout)
		defer cancel()
		if err := s.o.Cache.Set(cctx, versions, ttl, entries...); err != nil {
			s.log.DebugContext(cctx, "search page not cached", "error", err)
		}
	})
}

// storingPages are the pages being stored in the background. Until a
// store ends, the cache does not have the page yet: a search repeated
// that soon (a client paging back, a retry, a test) would run again and
// see cached: false. It is answered from here instead, under the same
// rule as the cache's: only while the versions it was stored under are
// still the current ones.
type storingPages struct {
	mu    sync.Mutex
	pages map[string]storingPage
}

type storingPage struct {
	versions []int64
	page     *Response
	expires  time.Time
}

// add holds page until the returned func is called (when its store ends).
func (sp *storingPages) add(key string, versions []int64, page *Response, expires time.Time) (done func()) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.pages == nil {
		sp.pages = map[string]storingPage{}
	}
	sp.pages[key] = storingPage{versions: versions, page: page, expires: expires}
	return func() {
		sp.mu.Lock()
		defer sp.mu.Unlock()
		if e, ok := sp.pages[key]; ok && e.page == page {
			delete(sp.pages, key)
		}
	}
}

// get returns a copy of the page being stored under key, when it was
// stored under versions and has not expired, with how long it has left.
func (sp *storingPages) get(key string, versions []int64, now time.Time) (*Response, time.Duration, bool) {
	sp.mu.Lock()
	e, ok := sp.pages[key]
	sp.mu.Unlock()
	if !ok || !slices.Equal(e.versions, versions) || !now.Before(e.expires) {
		return nil, 0, false
	}
	page := *e.page // its rows are shared, and never changed
	return &page, e.expires.Sub(now), true
}

// minEdgeTTL is the shortest life worth storing an edge page for.
const minEdgeTTL = time.Second

// wantsEdgePage reports whether a page of req is stored for the edge: it
// named an edge key, and asked for no analytics (trends are per request).
func (s *Service) wantsEdgePage(req Request) bool {
	return req.EdgeKey != "" && !req.IncludeAnalytics
}

// edgeSet stores an edge page in the background, like cacheSet.
func (s *Service) edgeSet(ctx context.Context, key string, versions []int64, rendered []byte, sum EventSummary, ttl time.Duration) {
	bctx := context.WithoutCancel(ctx)
	s.bg.Go(func() {
		value, err := s.o.Codec.EncodeEdge(rendered, sum)
		if err != nil {
			s.log.WarnContext(bctx, "edge page not cached: encode", "error", err)
			return
		}
		cctx, cancel := context.WithTimeout(bctx, s.o.CacheTimeout)
		defer cancel()
		if err := s.o.Cache.Set(cctx, versions, ttl, CacheEntry{Key: key, Value: value}); err != nil {
			s.log.DebugContext(cctx, "edge page not cached", "error", err)
		}
	})
}

// search runs an uncached search. cacheable is false when a source failed
// (a partial page is not worth keeping).
func (s *Service) search(ctx context.Context, p identity.Principal, req Request, versions []int64) (*Response, bool, error) {
	sources, err := s.describe(ctx, p.UserID, req.Databases, versions)
	if err != nil {
		return nil, false, err
	}
	return s.searchSources(ctx, p, req, sources)
}

// searchSources runs an uncached search of the described sources.
func (s *Service) searchSources(ctx context.Context, p identity.Principal, req Request, sources []Source) (*Response, bool, error) {
	resp := &Response{Limit: req.Limit, Page: req.Offset/req.Limit + 1, Mode: req.Mode}
	if len(sources) == 0 {
		resp.Notices = append(resp.Notices, Notice{Code: NoticeNoDatabases,
			Message: "You have no databases to search yet: add one with POST /api/v1/databases (name, host, port, database, username, password), then search again."})
		return resp, true, nil
	}
	prep, err := prepare(sources, req, resp.Mode)
	if err != nil {
		return nil, false, err
	}
	resp.Notices = append(resp.Notices, prep.notices...)
	if len(prep.targets) == 0 {
		resp.Sources = prep.statuses
		if failed := allFailed(resp.Sources); failed {
			return nil, false, &AllSourcesFailedError{Sources: resp.Sources}
		}
		return resp, !anyFailed(resp.Sources), nil
	}
	// The query's rewrites serve the semantic fallback and the analytics;
	// asked now, they are ready by the time either needs them.
	var opt *optimizeCall
	if req.Mode == ModeSemantic || req.IncludeAnalytics {
		opt = s.startOptimize(ctx, req.Query, prep, s.o.Enhance.Budget)
	}
	var partial bool
	var cat *categorizeCall
	if req.Mode == ModeSemantic {
		if partial, err = s.semantic(ctx, prep, req, resp, opt); err != nil {
			return nil, false, err
		}
	} else {
		single := prep.singleIndexNatural()
		if err := s.checkWindow(prep, req, single); err != nil {
			return nil, false, err
		}
		// The page's categories are asked for as soon as its rows are
		// read, while the counts of phase 2 still run.
		run := func(prep *prepared, single bool) (*execution, error) {
			return s.execute(ctx, prep, req, single, false, func(ex *execution) {
				ex.outcome.results(ex.page, resp)
				cat = s.startCategorize(ctx, prep, req.Query, resp.Results)
			})
		}
		var ex *execution
		var fallback string
		if req.Mode == ModeExpansion {
			prep.timeout = s.o.ExpansionModeTimeout
			if slow := s.slowExpansionSources(prep); len(slow) > 0 {
				fallback = fmt.Sprintf("Query expansion was not tried: it ran out of time on %s within the last %s; every database was searched in natural-language mode instead.",
					strings.Join(slow, ", "), s.o.ExpansionRetry)
			}
		}
		if fallback == "" {
			ex, err = run(prep, single)
			if late := expansionTimeouts(prep, ex); len(late) > 0 {
				s.markSlowExpansion(prep, ex.phase1)
				fallback = fmt.Sprintf("Query expansion did not answer within %s on %s; every database was searched in natural-language mode instead.",
					s.o.ExpansionModeTimeout, strings.Join(late, ", "))
			}
		}
		if fallback != "" {
			// Query expansion did not answer in time somewhere: the whole
			// page is searched in natural mode, so that its ranks compare.
			natural, perr := prepare(sources, req, ModeNatural)
			if perr != nil {
				return nil, false, perr
			}
			single = natural.singleIndexNatural()
			if err := s.checkWindow(natural, req, single); err != nil {
				return nil, false, err
			}
			resp.Results, cat = nil, nil
			resp.Notices = append(resp.Notices, Notice{Code: NoticeExpansionSkipped, Message: fallback})
			s.o.Metrics.expansionFallback()
			prep = natural
			ex, err = run(prep, single)
		}
		if err != nil {
			return nil, false, err
		}
		ex.outcome.totals(resp)
		partial = ex.outcome.partial
	}
	var didYouMean func() ([]Suggestion, map[string]int)
	if len(resp.Results) == 0 && resp.TotalCount == 0 {
		resp.QueryOptimization = append(resp.QueryOptimization, Optimization{Type: "query", Impact: "medium",
			Description: "No rows matched. Try other or fewer words, a prefix (data*) in boolean mode, or check the spelling."})
		didYouMean = func() ([]Suggestion, map[string]int) {
			dctx, cancel := context.WithTimeout(ctx, s.o.DidYouMeanTimeout)
			defer cancel()
			return s.spelling(dctx, p, prep, req.Query)
		}
	}
	s.enhance(ctx, prep, req, resp, opt, cat, didYouMean)
	return resp, !anyFailed(resp.Sources) && !partial, nil
}

// DefaultExpansionModeTimeout is Options.ExpansionModeTimeout's default.
const DefaultExpansionModeTimeout = 2 * time.Second

// execution is a search's calls and what came of them.
type execution struct {
	phase1, phase2 []*run
	// timeout bounds each call to a source.
	timeout time.Duration
	// early are the counts started with phase 1, in calls of their own
	// (see earlyCounts); earlyDone is closed once they answered.
	early     []*run
	earlyDone chan struct{}
	outcome   *outcome
	page      []pageRow
}

// awaitEarly waits for the counts started with phase 1 and reads those
// the search needs.
func (ex *execution) awaitEarly() {
	<-ex.earlyDone
	ex.outcome.readEarly(ex.early)
}

// execute runs a search: phase 1 on every source; then, for fused
// searches, the fusion and phase 2 on the sources that have rows on the
// page or tables to count. With explain (Analyze), each phase-1 call also
// asks for the EXPLAIN of its statements. rowsRead, when not nil, is
// called once the page's rows are read, while phase 2's counts may still
// run (see runPhase2). It fails only when every source failed (the calls
// made are still returned).
func (s *Service) execute(ctx context.Context, p *prepared, req Request, single, explain bool, rowsRead func(*execution)) (*execution, error) {
	ex := &execution{earlyDone: make(chan struct{}), timeout: p.timeoutOr(s.o.SourceTimeout)}
	running := s.executing.Add(1)
	defer s.executing.Add(-1)
	var tables []*tableState
	ex.phase1, tables = phase1(p, req, single, s.o.RankWindow, s.o.CountScanRows)
	eager := running <= int64(s.o.EagerSearches)
	if explain || eager {
		// Analyze shows the search as it runs on a service not yet busy.
		ex.early = earlyCounts(p, tables)
	}
	if len(ex.early) == 0 {
		close(ex.earlyDone)
	} else {
		go func() {
			defer close(ex.earlyDone)
			s.runAll(ctx, ex.early, p.timeoutOr(s.o.SourceTimeout))
		}()
	}
	if explain {
		for _, r := range ex.phase1 {
			for _, pl := range slices.Clone(r.req.Plans) {
				pl.Explain, pl.Count = true, false
				r.add(pl, explainPlan, nil)
			}
		}
	}
	askPage(ex.phase1, req, single || explain || !eager)
	s.runAll(ctx, ex.phase1, p.timeoutOr(s.o.SourceTimeout))
	ex.outcome = collect(p, ex.phase1, tables, req, single)
	ex.outcome.readPage(ex.phase1)
	if allFailed(ex.outcome.statuses) {
		<-ex.earlyDone
		return ex, &AllSourcesFailedError{Sources: ex.outcome.statuses}
	}
	ex.page = ex.outcome.page()
	if single {
		if rowsRead != nil {
			rowsRead(ex)
		}
		return ex, nil
	}
	ex.phase2 = phase2(p, ex.page, tables, ex.outcome.fetched)
	if slices.ContainsFunc(ex.phase1, func(r *run) bool { return r.req.Page != nil }) {
		read := "with_ranking"
		for _, r := range ex.phase2 {
			if len(r.req.Fetches) > 0 {
				read = "after"
			}
		}
		s.o.Metrics.pageRead(read)
	}
	if explain {
		s.runAll(ctx, ex.phase2, p.timeoutOr(s.o.SourceTimeout))
		ex.outcome.read(ex.phase2)
		ex.awaitEarly()
		return ex, nil
	}
	s.runPhase2(ctx, ex, rowsRead)
	return ex, nil
}

// checkWindow refuses pages deeper than fused rankings go: offset+limit is
// at most the rank window when a table is searched by several indexes, at
// most MaxWindow otherwise. One index in natural mode pages by SQL and has
// no bound.
func (s *Service) checkWindow(p *prepared, req Request, single bool) error {
	if single {
		return nil
	}
	end := req.Offset + req.Limit
	if p.sharedTable() && end > s.o.RankWindow {
		return validate.Field("offset", codeWindow,
			"offset + limit is %d, but when a table is searched by several FULLTEXT indexes the results are ranked from the first %d matches of each index, so they can be paged %d deep; "+
				"narrow the search with tables or columns so that each table is searched by one index (those page up to %d), or refine the query.",
			end, s.o.RankWindow, s.o.RankWindow, s.o.MaxWindow)
	}
	if end > s.o.MaxWindow {
		return windowError(req, s.o.MaxWindow)
	}
	return nil
}

func anyFailed(st []SourceStatus) bool {
	for _, s := range st {
		if s.Status == StatusFailed || s.Status == StatusTimeout {
			return true
		}
	}
	return false
}

// allFailed reports whether at least one source failed and none answered.
func allFailed(st []SourceStatus) bool {
	failed := 0
	for _, s := range st {
		switch s.Status {
		case StatusOK:
			return false
		case StatusFailed, StatusTimeout:
			failed++
		}
	}
	return failed > 0 && failed == len(st)
}

// DefaultEagerSearches is Options.EagerSearches's default. With 16 users
// on 2 cores, counting beside the rankings every time cost 6% of the
// throughput (counts not needed, more statements at once), and reading the
// page in the ranking's call another 6% (measured twice, in interleaved
// runs; MariaDB spent 6% more CPU per search); with 1 user they took a
// fifth to a quarter, then a tenth, off the mean search time.
const DefaultEagerSearches = 4

// Description memo bounds.
const (
	// DescribeMemoTTL bounds how long a description of a user's sources is
	// reused, even when their version has not moved.
	DescribeMemoTTL = 10 * time.Second
	// describeMemoSize bounds the descriptions kept (each holds a schema).
	describeMemoSize = 1000
)

// describeMemo keeps recent descriptions of users' sources, each under the
// version of the user's sources ("sources:<user id>") read from the cache
// when it was taken: dbrouter moves that version whenever a source of the
// user is created, updated, deleted or its schema changes, so a
// description is reused only while it is current, and never past
// DescribeMemoTTL. Without a version (the cache did not answer) nothing is
// reused.
type describeMemo struct {
	mu      sync.Mutex
	entries map[string]memoEntry
}

type memoEntry struct {
	version int64
	at      time.Time
	sources []Source
}

// memoKey is the memo's key of a caller's sources named by ids.
func memoKey(userID string, ids []string) string {
	return userID + "\x00" + strings.Join(ids, "\x00")
}

// latest returns the description under key, whatever its version, when
// it is younger than DescribeMemoTTL, with that version.
func (m *describeMemo) latest(key string, now time.Time) ([]Source, int64, bool) {
	m.mu.Lock()
	e, ok := m.entries[key]
	m.mu.Unlock()
	if !ok || now.Sub(e.at) >= DescribeMemoTTL {
		return nil, 0, false
	}
	return e.sources, e.version, true
}

// describe returns the caller's sources named by ids, from the memo when
// the versions read from the cache say it is current.
func (s *Service) describe(ctx context.Context, userID string, ids []string, versions []int64) ([]Source, error) {
	if len(versions) != 1 {
		return s.o.Sources.Describe(ctx, ids)
	}
	key := memoKey(userID, ids)
	now := s.o.Now()
	s.memo.mu.Lock()
	e, ok := s.memo.entries[key]
	s.memo.mu.Unlock()
	if ok && e.version == versions[0] && now.Sub(e.at) < DescribeMemoTTL {
		return e.sources, nil
	}
	sources, err := s.o.Sources.Describe(ctx, ids)
	if err != nil {
		return nil, err
	}
	s.memo.mu.Lock()
	if len(s.memo.entries) >= describeMemoSize {
		for k, old := range s.memo.entries {
			if now.Sub(old.at) >= DescribeMemoTTL {
				delete(s.memo.entries, k)
			}
		}
		if len(s.memo.entries) >= describeMemoSize {
			clear(s.memo.entries)
		}
	}
	s.memo.entries[key] = memoEntry{version: versions[0], at: now, sources: sources}
	s.memo.mu.Unlock()
	return sources, nil
}
