// Package grpcapi adapts the search domain to the generated
// altus.search.v1.SearchService: it finds the caller in the context,
// checks the API-key permission of each call, converts messages, and maps
// domain errors to status codes with v1 reasons in one table.
package grpcapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/altus4/altus/pkg/edgecache"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/services/search/internal/analytics"
	"github.com/altus4/altus/services/search/internal/search"
	"github.com/altus4/altus/services/search/internal/wire"
)

// Reasons of the search service (v1 error codes where v1 had one).
const (
	ReasonNoToken                 = "NO_TOKEN"
	ReasonInsufficientPermissions = "INSUFFICIENT_PERMISSIONS"
	ReasonConnectionNotFound      = "CONNECTION_NOT_FOUND"
	ReasonAllSourcesFailed        = "ALL_SOURCES_FAILED"
)

// errorTable is the one mapping of domain errors to codes and reasons.
var errorTable = []grpcx.Mapping{
	{Err: search.ErrSourceNotFound, Code: codes.NotFound, Reason: ReasonConnectionNotFound},
	{Err: search.ErrAllSourcesFailed, Code: codes.Unavailable, Reason: ReasonAllSourcesFailed},
	{Err: search.ErrUnavailable, Code: codes.Unavailable, Reason: grpcx.ReasonUnavailable},
}

func mapErr(err error) error { return grpcx.Map(err, errorTable) }

// errNoCaller answers a call that came without a caller.
var errNoCaller = grpcx.Error(codes.Unauthenticated, ReasonNoToken,
	"This call needs a caller: send an API key as \"authorization: Bearer altus4_sk_…\".")

// caller returns the principal of ctx holding perm.
func caller(ctx context.Context, perm string) (identity.Principal, error) {
	p, ok := identity.From(ctx)
	if !ok || p.UserID == "" {
		return identity.Principal{}, errNoCaller
	}
	if !p.Can(perm) {
		return identity.Principal{}, grpcx.Errorf(codes.PermissionDenied, ReasonInsufficientPermissions,
			"This API key lacks the %q permission (it has: %s); create a key with it.", perm, strings.Join(p.Permissions, ", "))
	}
	return p, nil
}

// CacheControlKey is the request metadata whose value "no-cache" makes a
// search skip the result cache lookup (as the HTTP header of that name).
const CacheControlKey = "cache-control"

// noCache reports whether the request asked not to be served from the cache.
func noCache(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get(CacheControlKey) {
		for d := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-cache") {
				return true
			}
		}
	}
	return false
}

// RenderKey is the request metadata whose value "json" asks for a search
// page pre-rendered as the REST API's JSON (SearchResponse.rendered_json):
// the gateway sends it and passes the bytes through.
const RenderKey = "x-altus-render"

// EdgeKey is the request metadata whose value "store" asks for the page of
// a rendered search to be stored for the REST edge as well (an edge page,
// pkg/edgecache): the gateway sends it when it answers repeated searches
// itself.
const EdgeKey = "x-altus-edge"

// wantsEdgePage reports whether the request asked for an edge page.
func wantsEdgePage(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	return slices.Contains(md.Get(EdgeKey), "store")
}

// wantsJSON reports whether the request asked for a pre-rendered page.
func wantsJSON(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	return slices.Contains(md.Get(RenderKey), "json")
}

// Server implements searchv1.SearchServiceServer.
type Server struct {
	searchv1.UnimplementedSearchServiceServer
	svc       *search.Service
	analytics *analytics.Service
	// signer verifies the assertions of edge-answered searches; nil
	// refuses RecordCachedSearches and stores no edge pages.
	signer *identity.Signer
}

// New returns the adapter over svc; clicks are recorded through an
// analytics service (WithClicks), Unavailable without one.
func New(svc *search.Service) *Server { return &Server{svc: svc} }

// WithClicks returns s recording clicks through a.
func (s *Server) WithClicks(a *analytics.Service) *Server { s.analytics = a; return s }

// WithEdgeHits returns s storing edge pages of rendered searches
// (pkg/edgecache) and recording the searches the edge answers from them,
// each for the caller its assertion, verified by signer, names.
func (s *Server) WithEdgeHits(signer *identity.Signer) *Server { s.signer = signer; return s }

// Search runs a search.
func (s *Server) Search(ctx context.Context, req *searchv1.SearchRequest) (*searchv1.SearchResponse, error) {
	p, err := caller(ctx, identity.PermSearch)
	if err != nil {
		return nil, err
	}
	render := wantsJSON(ctx)
	var edgeKey string
	if render && s.signer != nil && !req.GetIncludeAnalytics() && wantsEdgePage(ctx) {
		// The edge computes the same key from the same request; a key that
		// cannot be computed only means no edge page.
		edgeKey, _ = edgecache.Key(p.UserID, req)
	}
	resp, err := s.svc.Search(ctx, p, search.Request{
		Query: req.GetQuery(), Databases: req.GetDatabases(), Tables: req.GetTables(), Columns: req.GetColumns(),
		Mode: req.GetSearchMode(), Limit: int(req.GetLimit()), Offset: int(req.GetOffset()),
		IncludeAnalytics: req.GetIncludeAnalytics(), MaxValueChars: int(req.GetMaxValueChars()), NoCache: noCache(ctx), Render: render,
		SemanticRatio: req.SemanticRatio, EdgeKey: edgeKey,
	})
	if err != nil {
		return nil, mapErr(err)
	}
	if render && len(resp.Rendered) > 0 {
		rendered := resp.Rendered
		if len(resp.Trends) > 0 {
			rendered, err = wire.RenderedWithTrends(rendered, resp.Trends)
		}
		if err == nil {
			return &searchv1.SearchResponse{RenderedJson: rendered, Cached: resp.Cached, ExecutionTime: wire.Millis(resp.ExecutionTime), SearchId: resp.SearchID}, nil
		}
	}
	if m := wire.CachedToProto(resp); m != nil {
		return m, nil
	}
	return wire.ResponseToProto(resp), nil
}

// MaxCachedSearches bounds a RecordCachedSearches batch.
const MaxCachedSearches = 1000

// RecordCachedSearches records the searches the edge answered from edge
// pages. Each is recorded for the caller its own assertion names (the
// call itself may come with none: a batch mixes callers); one whose
// assertion does not verify, or that lacks an id or a summary, is counted
// as rejected, never recorded for anyone.
func (s *Server) RecordCachedSearches(ctx context.Context, req *searchv1.RecordCachedSearchesRequest) (*searchv1.RecordCachedSearchesResponse, error) {
	if s.signer == nil {
		return nil, grpcx.Error(codes.Unimplemented, grpcx.ReasonUnavailable, "This search service does not record edge-answered searches.")
	}
	if n := len(req.GetSearches()); n > MaxCachedSearches {
		return nil, grpcx.Errorf(codes.InvalidArgument, "TOO_MANY", "A batch holds at most %d searches; got %d.", MaxCachedSearches, n)
	}
	out := &searchv1.RecordCachedSearchesResponse{}
	for _, c := range req.GetSearches() {
		p, err := s.signer.Verify(c.GetAssertion())
		if err != nil || p.UserID == "" || !p.Can(identity.PermSearch) || c.GetSummary() == nil || !validSearchID(c.GetSearchId()) {
			out.Rejected++
			continue
		}
		created := time.Now()
		if t := c.GetCreatedAt(); t.IsValid() && t.AsTime().Before(created) {
			created = t.AsTime()
		}
		s.svc.RecordCachedHit(p, search.CachedHit{
			SearchID: c.GetSearchId(), Summary: wire.SummaryFromProto(c.GetSummary()),
			ExecutionTime: time.Duration(max(c.GetExecutionTimeMs(), 0) * float64(time.Millisecond)),
			CreatedAt:     created,
		})
		out.Recorded++
	}
	return out, nil
}

// validSearchID reports whether id is a UUID in its text form.
func validSearchID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}

// GetSuggestions completes a partial query.
func (s *Server) GetSuggestions(ctx context.Context, req *searchv1.GetSuggestionsRequest) (*searchv1.GetSuggestionsResponse, error) {
	p, err := caller(ctx, identity.PermSearch)
	if err != nil {
		return nil, err
	}
	sugs, err := s.svc.Suggest(ctx, p, search.SuggestRequest{Query: req.GetQuery(), Databases: req.GetDatabases(), Tables: req.GetTables()})
	if err != nil {
		return nil, mapErr(err)
	}
	out := &searchv1.GetSuggestionsResponse{Suggestions: []*searchv1.Suggestion{}}
	for _, sg := range sugs {
		out.Suggestions = append(out.Suggestions, wire.SuggestionToProto(sg))
	}
	return out, nil
}

// Analyze explains a query.
func (s *Server) Analyze(ctx context.Context, req *searchv1.AnalyzeRequest) (*searchv1.AnalyzeResponse, error) {
	p, err := caller(ctx, identity.PermAnalytics)
	if err != nil {
		return nil, err
	}
	a, err := s.svc.Analyze(ctx, p, search.AnalyzeRequest{Query: req.GetQuery(), Databases: req.GetDatabases(), Mode: req.GetSearchMode()})
	if err != nil {
		return nil, mapErr(err)
	}
	perf, err := structpb.NewStruct(a.Performance)
	if err != nil {
		return nil, fmt.Errorf("search: encode analysis: %w", err)
	}
	out := &searchv1.AnalyzeResponse{Query: a.Query, Recommendations: a.Recommendations, Performance: perf,
		Optimization: []*searchv1.QueryOptimization{}}
	for _, o := range a.Optimization {
		out.Optimization = append(out.Optimization, wire.OptimizationToProto(o))
	}
	return out, nil
}

// GetTrends reports the caller's search trends.
func (s *Server) GetTrends(ctx context.Context, _ *searchv1.GetTrendsRequest) (*searchv1.GetTrendsResponse, error) {
	p, err := caller(ctx, identity.PermAnalytics)
	if err != nil {
		return nil, err
	}
	ts, err := s.svc.Trends(ctx, p)
	if err != nil {
		return nil, mapErr(err)
	}
	out := &searchv1.GetTrendsResponse{Trends: []*searchv1.TrendInsight{}}
	for _, t := range ts {
		out.Trends = append(out.Trends, wire.TrendToProto(t))
	}
	return out, nil
}

// GetHistory lists the caller's past searches, newest first.
func (s *Server) GetHistory(ctx context.Context, req *searchv1.GetHistoryRequest) (*searchv1.GetHistoryResponse, error) {
	p, err := caller(ctx, identity.PermSearch)
	if err != nil {
		return nil, err
	}
	evs, err := s.svc.History(ctx, p, int(req.GetLimit()), int(req.GetOffset()))
	if err != nil {
		return nil, mapErr(err)
	}
	out := &searchv1.GetHistoryResponse{Events: []*searchv1.SearchEvent{}}
	for _, e := range evs {
		dbs := e.Databases
		if dbs == nil {
			dbs = []string{}
		}
		out.Events = append(out.Events, &searchv1.SearchEvent{
			Id: e.ID, Query: e.Query, SearchMode: e.Mode, Databases: dbs,
			ResultCount:   int32(min(e.TotalCount, 1<<31-1)),
			ExecutionTime: wire.Millis(e.ExecutionTime),
			CreatedAt:     timestamppb.New(e.CreatedAt),
		})
	}
	return out, nil
}
