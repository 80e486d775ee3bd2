// Package grpcapi adapts the cache domain to the generated CacheService.
package grpcapi

import (
	"context"
	"math"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/services/cache/internal/cache"
)

// ReasonRedisUnavailable is the reason of UNAVAILABLE answers while Redis
// cannot be reached; callers degrade on it (uncached searches, local limits).
const ReasonRedisUnavailable = "REDIS_UNAVAILABLE"

// errorTable maps the domain's errors to status codes and reasons.
// Validation errors are mapped by grpcx.Map itself.
var errorTable = []grpcx.Mapping{
	{Err: cache.ErrUnavailable, Code: codes.Unavailable, Reason: ReasonRedisUnavailable},
}

// Store is what the adapter needs of the domain.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Delete(ctx context.Context, keys []string) (int, error)
	Allow(ctx context.Context, key string, limit int, window time.Duration) (cache.Window, error)
	Peek(ctx context.Context, key string, limit int, window time.Duration) (cache.Window, error)
	GetVersionedUnless(ctx context.Context, versionKeys []string, key string, held []int64) (cache.Versioned, error)
	ReadVersions(ctx context.Context, versionKeys []string) ([]int64, error)
	SetVersioned(ctx context.Context, key string, versions []int64, value []byte, ttl time.Duration, also ...cache.Entry) error
	BumpVersions(ctx context.Context, versionKeys []string) ([]int64, error)
}

// Server implements cachev1.CacheServiceServer over a Store.
type Server struct {
	cachev1.UnimplementedCacheServiceServer
	store Store
}

// New returns the adapter over store.
func New(store Store) *Server { return &Server{store: store} }

// Get returns a cached value.
func (s *Server) Get(ctx context.Context, req *cachev1.GetRequest) (*cachev1.GetResponse, error) {
	v, found, err := s.store.Get(ctx, req.GetKey())
	if err != nil {
		return nil, grpcx.Map(err, errorTable)
	}
	return &cachev1.GetResponse{Found: found, Value: v}, nil
}

// Set stores a value with a time to live.
func (s *Server) Set(ctx context.Context, req *cachev1.SetRequest) (*cachev1.SetResponse, error) {
	if err := s.store.Set(ctx, req.GetKey(), req.GetValue(), duration(req.GetTtl())); err != nil {
		return nil, grpcx.Map(err, errorTable)
	}
	return &cachev1.SetResponse{}, nil
}

// Delete removes values.
func (s *Server) Delete(ctx context.Context, req *cachev1.DeleteRequest) (*cachev1.DeleteResponse, error) {
	n, err := s.store.Delete(ctx, req.GetKeys())
	if err != nil {
		return nil, grpcx.Map(err, errorTable)
	}
	return &cachev1.DeleteResponse{Deleted: clamp32(int64(n))}, nil
}

// Allow counts one request against a fixed-window limit.
func (s *Server) Allow(ctx context.Context, req *cachev1.AllowRequest) (*cachev1.AllowResponse, error) {
	w, err := s.store.Allow(ctx, req.GetKey(), int(req.GetLimit()), duration(req.GetWindow()))
	if err != nil {
		return nil, grpcx.Map(err, errorTable)
	}
	return &cachev1.AllowResponse{
		Allowed:   w.Allowed,
		Limit:     clamp32(int64(w.Limit)),
		Remaining: clamp32(int64(w.Remaining)),
		ResetTime: timestamppb.New(w.Reset),
	}, nil
}

// PeekRateLimit reports a window's state without counting a request.
func (s *Server) PeekRateLimit(ctx context.Context, req *cachev1.PeekRateLimitRequest) (*cachev1.PeekRateLimitResponse, error) {
	w, err := s.store.Peek(ctx, req.GetKey(), int(req.GetLimit()), duration(req.GetWindow()))
	if err != nil {
		return nil, grpcx.Map(err, errorTable)
	}
	return &cachev1.PeekRateLimitResponse{
		Limit:     clamp32(int64(w.Limit)),
		Remaining: clamp32(int64(w.Remaining)),
		ResetTime: timestamppb.New(w.Reset),
		Used:      clamp32(w.Used),
	}, nil
}

// GetVersioned reads version counters and the value stored under them.
func (s *Server) GetVersioned(ctx context.Context, req *cachev1.GetVersionedRequest) (*cachev1.GetVersionedResponse, error) {
	if req.GetVersionsOnly() {
		versions, err := s.store.ReadVersions(ctx, req.GetVersionKeys())
		if err != nil {
			return nil, grpcx.Map(err, errorTable)
		}
		return &cachev1.GetVersionedResponse{Versions: versions}, nil
	}
	resp, _, err := s.getVersioned(ctx, req, nil)
	return resp, err
}

// getVersioned reads a versioned value unless held are its current
// versions (unchanged: only the versions are answered).
func (s *Server) getVersioned(ctx context.Context, req *cachev1.GetVersionedRequest, held []int64) (*cachev1.GetVersionedResponse, bool, error) {
	r, err := s.store.GetVersionedUnless(ctx, req.GetVersionKeys(), req.GetKey(), held)
	if err != nil {
		return nil, false, grpcx.Map(err, errorTable)
	}
	resp := &cachev1.GetVersionedResponse{Versions: r.Versions, Found: r.Found, Value: r.Value}
	if r.Found && r.TTL > 0 {
		resp.Ttl = durationpb.New(r.TTL)
	}
	return resp, r.Unchanged, nil
}

// SetVersioned stores a value under a base key and versions, and any
// further values under theirs.
func (s *Server) SetVersioned(ctx context.Context, req *cachev1.SetVersionedRequest) (*cachev1.SetVersionedResponse, error) {
	var also []cache.Entry
	if n := len(req.GetAlso()); n > 0 {
		also = make([]cache.Entry, n)
		for i, e := range req.GetAlso() {
			also[i] = cache.Entry{Key: e.GetKey(), Value: e.GetValue()}
		}
	}
	if err := s.store.SetVersioned(ctx, req.GetKey(), req.GetVersions(), req.GetValue(), duration(req.GetTtl()), also...); err != nil {
		return nil, grpcx.Map(err, errorTable)
	}
	return &cachev1.SetVersionedResponse{}, nil
}

// BumpVersions moves version counters.
func (s *Server) BumpVersions(ctx context.Context, req *cachev1.BumpVersionsRequest) (*cachev1.BumpVersionsResponse, error) {
	versions, err := s.store.BumpVersions(ctx, req.GetVersionKeys())
	if err != nil {
		return nil, grpcx.Map(err, errorTable)
	}
	return &cachev1.BumpVersionsResponse{Versions: versions}, nil
}

// AllowAndGetVersioned counts one request and, when it is allowed, reads a
// versioned value (not when the caller holds it under the current
// versions): one round trip for the edge's repeated searches. A
// failed count is the call's error (the caller limits locally); a failed
// read after a counted request answers the decision alone, since the
// request was counted and the caller can still serve it another way.
func (s *Server) AllowAndGetVersioned(ctx context.Context, req *cachev1.AllowAndGetVersionedRequest) (*cachev1.AllowAndGetVersionedResponse, error) {
	allow, err := s.Allow(ctx, req.GetAllow())
	if err != nil {
		return nil, err
	}
	out := &cachev1.AllowAndGetVersionedResponse{Allow: allow}
	if !allow.GetAllowed() || req.GetGet() == nil {
		return out, nil
	}
	if get, unchanged, err := s.getVersioned(ctx, req.GetGet(), req.GetHeldVersions()); err == nil {
		out.Get, out.Unchanged = get, unchanged
	}
	return out, nil
}

// duration converts a proto duration; absent is zero, which the domain
// reports as missing, and out-of-range values saturate, which the domain
// reports as out of range.
func duration(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

func clamp32(n int64) int32 {
	return int32(min(max(n, math.MinInt32), math.MaxInt32))
}
