package grpcapi_test

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/altus4/altus/pkg/config"
	cachev1 "github.com/altus4/altus/pkg/gen/altus/cache/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/cache/internal/cache"
	"github.com/altus4/altus/services/cache/internal/grpcapi"
	"github.com/altus4/altus/services/cache/internal/redisx"
)

type fixture struct {
	client cachev1.CacheServiceClient
	health healthpb.HealthClient
	store  *cache.Store
	report func(bool)
}

// serve runs the CacheService over store the way main does (the suite's
// server, the Redis health reporter) on an in-memory connection.
func serve(t *testing.T, store *cache.Store) fixture {
	t.Helper()
	srv := grpcx.NewServer(grpcx.ServerOptions{Signer: identity.NewSigner("test-secret-test-secret-test-secret-0")})
	cachev1.RegisterCacheServiceServer(srv, grpcapi.New(store))
	report := grpcapi.RedisHealthReporter(srv.Health)
	report(store.Up())
	srv.Ready()
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(grpcx.MaxMessageSize), grpc.MaxCallSendMsgSize(grpcx.MaxMessageSize)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return fixture{client: cachev1.NewCacheServiceClient(conn), health: healthpb.NewHealthClient(conn), store: store, report: report}
}

func liveStore(t *testing.T, now func() time.Time) *cache.Store {
	t.Helper()
	cfg := testenv.RedisConfig(t)
	client, err := redisx.New(cfg, redisx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return cache.New(client, cache.Options{Prefix: cfg.Prefix, Now: now})
}

func deadStore(t *testing.T) *cache.Store {
	t.Helper()
	cfg := config.Redis{Host: "127.0.0.1", Port: testenv.FreePort(t), Prefix: "dead:"}
	client, err := redisx.New(cfg, redisx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return cache.New(client, cache.Options{Prefix: cfg.Prefix, Timeout: 300 * time.Millisecond, Log: quiet})
}

func TestGetSetDeleteThroughClient(t *testing.T) {
	ctx := context.Background()
	f := serve(t, liveStore(t, nil))
	if _, err := f.client.Set(ctx, &cachev1.SetRequest{Key: "a", Value: []byte("alpha"), Ttl: durationpb.New(time.Minute)}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	got, err := f.client.Get(ctx, &cachev1.GetRequest{Key: "a"})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(&cachev1.GetResponse{Found: true, Value: []byte("alpha")}, got, protocmp.Transform()); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	miss, err := f.client.Get(ctx, &cachev1.GetRequest{Key: "nothing"})
	if err != nil || miss.GetFound() {
		t.Errorf("Get(nothing) = %v, %v; want not found", miss, err)
	}
	del, err := f.client.Delete(ctx, &cachev1.DeleteRequest{Keys: []string{"a", "nothing"}})
	if err != nil || del.GetDeleted() != 1 {
		t.Errorf("Delete = %v, %v; want 1 deleted", del, err)
	}
}

func TestAllowAndPeekThroughClient(t *testing.T) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Minute).Add(time.Minute + 5*time.Second)
	f := serve(t, liveStore(t, func() time.Time { return now }))
	reset := timestamppb.New(now.Truncate(time.Minute).Add(time.Minute))
	req := &cachev1.AllowRequest{Key: "apikey:k1", Limit: 2, Window: durationpb.New(time.Minute)}
	var got []*cachev1.AllowResponse
	for i := 0; i < 3; i++ {
		r, err := f.client.Allow(ctx, req)
		if err != nil {
			t.Fatalf("Allow #%d: %v", i+1, err)
		}
		got = append(got, r)
	}
	want := []*cachev1.AllowResponse{
		{Allowed: true, Limit: 2, Remaining: 1, ResetTime: reset},
		{Allowed: true, Limit: 2, Remaining: 0, ResetTime: reset},
		{Allowed: false, Limit: 2, Remaining: 0, ResetTime: reset},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("Allow (-want +got):\n%s", diff)
	}
	peek, err := f.client.PeekRateLimit(ctx, &cachev1.PeekRateLimitRequest{Key: "apikey:k1", Limit: 2, Window: durationpb.New(time.Minute)})
	if err != nil {
		t.Fatalf("PeekRateLimit: %v", err)
	}
	if diff := cmp.Diff(&cachev1.PeekRateLimitResponse{Limit: 2, Remaining: 0, ResetTime: reset, Used: 3}, peek, protocmp.Transform()); diff != "" {
		t.Errorf("PeekRateLimit (-want +got):\n%s", diff)
	}
}

// statusOf returns the code, reason and BadRequest fields of err.
func statusOf(err error) (codes.Code, string, []string) {
	st := status.Convert(err)
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return st.Code(), grpcx.Reason(err), fields
}

func TestInvalidRequestsAnswerValidationErrorWithFields(t *testing.T) {
	ctx := context.Background()
	f := serve(t, liveStore(t, nil))
	tests := []struct {
		name   string
		call   func() error
		fields []string
	}{
		{"set without ttl or key", func() error {
			_, err := f.client.Set(ctx, &cachev1.SetRequest{Value: []byte("v")})
			return err
		}, []string{"key", "ttl"}},
		{"set value over 4 MiB", func() error {
			_, err := f.client.Set(ctx, &cachev1.SetRequest{Key: "k", Value: make([]byte, cache.MaxValueBytes+1), Ttl: durationpb.New(time.Minute)})
			return err
		}, []string{"value"}},
		{"get empty key", func() error { _, err := f.client.Get(ctx, &cachev1.GetRequest{}); return err }, []string{"key"}},
		{"delete nothing", func() error { _, err := f.client.Delete(ctx, &cachev1.DeleteRequest{}); return err }, []string{"keys"}},
		{"allow without limit or window", func() error {
			_, err := f.client.Allow(ctx, &cachev1.AllowRequest{Key: "k"})
			return err
		}, []string{"limit", "window"}},
		{"peek with a window over 24h", func() error {
			_, err := f.client.PeekRateLimit(ctx, &cachev1.PeekRateLimitRequest{Key: "k", Limit: 1, Window: durationpb.New(48 * time.Hour)})
			return err
		}, []string{"window"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, reason, fields := statusOf(tt.call())
			type out struct {
				Code   codes.Code
				Reason string
				Fields []string
			}
			want := out{codes.InvalidArgument, grpcx.ReasonValidation, tt.fields}
			if diff := cmp.Diff(want, out{code, reason, fields}); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedisDownAnswersUnavailableAndReportsHealth(t *testing.T) {
	ctx := context.Background()
	f := serve(t, deadStore(t))
	calls := map[string]func() error{
		"Get": func() error { _, err := f.client.Get(ctx, &cachev1.GetRequest{Key: "k"}); return err },
		"Set": func() error {
			_, err := f.client.Set(ctx, &cachev1.SetRequest{Key: "k", Ttl: durationpb.New(time.Minute)})
			return err
		},
		"Delete": func() error { _, err := f.client.Delete(ctx, &cachev1.DeleteRequest{Keys: []string{"k"}}); return err },
		"Allow": func() error {
			_, err := f.client.Allow(ctx, &cachev1.AllowRequest{Key: "k", Limit: 1, Window: durationpb.New(time.Minute)})
			return err
		},
		"PeekRateLimit": func() error {
			_, err := f.client.PeekRateLimit(ctx, &cachev1.PeekRateLimitRequest{Key: "k", Limit: 1, Window: durationpb.New(time.Minute)})
			return err
		},
		"AllowAndGetVersioned": func() error {
			_, err := f.client.AllowAndGetVersioned(ctx, &cachev1.AllowAndGetVersionedRequest{
				Allow: &cachev1.AllowRequest{Key: "k", Limit: 1, Window: durationpb.New(time.Minute)},
				Get:   &cachev1.GetVersionedRequest{VersionKeys: []string{"v"}, Key: "k"},
			})
			return err
		},
	}
	for name, call := range calls {
		start := time.Now()
		code, reason, _ := statusOf(call())
		if code != codes.Unavailable || reason != grpcapi.ReasonRedisUnavailable {
			t.Errorf("%s: %v / %q; want Unavailable / %s", name, code, reason, grpcapi.ReasonRedisUnavailable)
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			t.Errorf("%s took %v with Redis down; want within the 300ms bound", name, took)
		}
	}

	f.report(f.store.Check(ctx) == nil)
	health := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		r, err := f.health.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("health %q: %v", service, err)
		}
		return r.GetStatus()
	}
	if got := health(grpcapi.RedisHealthService); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health %q = %v; want NOT_SERVING", grpcapi.RedisHealthService, got)
	}
	if got := health(cachev1.CacheService_ServiceDesc.ServiceName); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health of the CacheService = %v; want SERVING (it answers, degraded)", got)
	}
}

func TestRedisUpReportsServing(t *testing.T) {
	ctx := context.Background()
	f := serve(t, liveStore(t, nil))
	f.report(f.store.Check(ctx) == nil)
	r, err := f.health.Check(ctx, &healthpb.HealthCheckRequest{Service: grpcapi.RedisHealthService})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health %q = %v, %v; want SERVING", grpcapi.RedisHealthService, r.GetStatus(), err)
	}
}

// quiet drops the Redis up/down log lines tests provoke on purpose.
var quiet = slog.New(slog.DiscardHandler)

func TestVersionedEntriesThroughClient(t *testing.T) {
	ctx := context.Background()
	f := serve(t, liveStore(t, nil))
	keys := []string{"sources:user-1"}
	first, err := f.client.GetVersioned(ctx, &cachev1.GetVersionedRequest{VersionKeys: keys, Key: "search:q"})
	if err != nil || first.GetFound() {
		t.Fatalf("GetVersioned = %v, %v; want a miss", first, err)
	}
	if _, err := f.client.SetVersioned(ctx, &cachev1.SetVersionedRequest{Key: "search:q", Versions: first.GetVersions(), Value: []byte("page"), Ttl: durationpb.New(time.Minute)}); err != nil {
		t.Fatalf("SetVersioned: %v", err)
	}
	bumped, err := f.client.BumpVersions(ctx, &cachev1.BumpVersionsRequest{VersionKeys: keys})
	if err != nil || len(bumped.GetVersions()) != 1 || bumped.GetVersions()[0] != first.GetVersions()[0]+1 {
		t.Fatalf("BumpVersions = %v, %v", bumped, err)
	}
	after, err := f.client.GetVersioned(ctx, &cachev1.GetVersionedRequest{VersionKeys: keys, Key: "search:q"})
	if err != nil || after.GetFound() || after.GetVersions()[0] != bumped.GetVersions()[0] {
		t.Fatalf("after a bump: %v, %v; want a miss at the new version", after, err)
	}
	_, err = f.client.GetVersioned(ctx, &cachev1.GetVersionedRequest{Key: ""})
	if code, reason, _ := statusOf(err); code != codes.InvalidArgument || reason != "VALIDATION_ERROR" {
		t.Fatalf("empty key: %v", err)
	}
}

func TestAVersionsOnlyReadAnswersTheCurrentVersionsWithoutTheValue(t *testing.T) {
	ctx := context.Background()
	f := serve(t, liveStore(t, nil))
	keys := []string{"sources:user-1"}
	first, err := f.client.GetVersioned(ctx, &cachev1.GetVersionedRequest{VersionKeys: keys, Key: "search:q"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.SetVersioned(ctx, &cachev1.SetVersionedRequest{Key: "search:q", Versions: first.GetVersions(), Value: []byte("page"), Ttl: durationpb.New(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	only, err := f.client.GetVersioned(ctx, &cachev1.GetVersionedRequest{VersionKeys: keys, Key: "search:q", VersionsOnly: true})
	if err != nil || only.GetFound() || len(only.GetValue()) > 0 || !slices.Equal(only.GetVersions(), first.GetVersions()) {
		t.Fatalf("versions only = %v, %v; want the versions %v and no value", only, err, first.GetVersions())
	}
	bumped, err := f.client.BumpVersions(ctx, &cachev1.BumpVersionsRequest{VersionKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	only, err = f.client.GetVersioned(ctx, &cachev1.GetVersionedRequest{VersionKeys: keys, VersionsOnly: true})
	if err != nil || !slices.Equal(only.GetVersions(), bumped.GetVersions()) {
		t.Fatalf("versions only after a bump = %v, %v; want %v", only, err, bumped.GetVersions())
	}
	_, err = f.client.GetVersioned(ctx, &cachev1.GetVersionedRequest{VersionKeys: []string{""}, VersionsOnly: true})
	if code, reason, _ := statusOf(err); code != codes.InvalidArgument || reason != "VALIDATION_ERROR" {
		t.Fatalf("an empty version key: %v", err)
	}
}

func TestAllowAndGetVersionedCountsAndReadsOnlyWhatIsAllowedAndCurrent(t *testing.T) {
	for name, clientCache := range map[string]int{"with a client-side cache": 1 << 20, "without one": 0} {
		t.Run(name, func(t *testing.T) { testAllowAndGetVersioned(t, clientCache) })
	}
}

func testAllowAndGetVersioned(t *testing.T, clientCacheBytes int) {
	ctx := context.Background()
	cfg := testenv.RedisConfig(t)
	client, err := redisx.New(cfg, redisx.Options{ClientCacheBytes: clientCacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	f := serve(t, cache.New(client, cache.Options{Prefix: cfg.Prefix}))
	keys := []string{"sources:u1"}
	stored, err := f.client.GetVersioned(ctx, &cachev1.GetVersionedRequest{VersionKeys: keys, Key: "search-edge:q"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.SetVersioned(ctx, &cachev1.SetVersionedRequest{Key: "search-edge:q", Versions: stored.GetVersions(), Value: []byte("page"), Ttl: durationpb.New(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	var held []int64
	call := func(key string) *cachev1.AllowAndGetVersionedResponse {
		t.Helper()
		resp, err := f.client.AllowAndGetVersioned(ctx, &cachev1.AllowAndGetVersionedRequest{
			Allow:        &cachev1.AllowRequest{Key: "key:k1", Limit: 4, Window: durationpb.New(time.Hour)},
			Get:          &cachev1.GetVersionedRequest{VersionKeys: keys, Key: key},
			HeldVersions: held,
		})
		if err != nil {
			t.Fatalf("AllowAndGetVersioned: %v", err)
		}
		return resp
	}

	hit := call("search-edge:q")
	if !hit.GetAllow().GetAllowed() || hit.GetAllow().GetRemaining() != 3 || !hit.GetGet().GetFound() || string(hit.GetGet().GetValue()) != "page" || hit.GetUnchanged() {
		t.Errorf("first call = %v; want allowed, 3 remaining, the page", hit)
	}
	if ttl := hit.GetGet().GetTtl().AsDuration(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("the page's remaining time to live is %s; want within the minute it was stored for", ttl)
	}
	miss := call("search-edge:other")
	if !miss.GetAllow().GetAllowed() || miss.GetAllow().GetRemaining() != 2 || miss.GetGet() == nil || miss.GetGet().GetFound() {
		t.Errorf("second call = %v; want allowed, 2 remaining, a read that found nothing", miss)
	}
	// A caller holding the page under the current versions is not sent it.
	held = hit.GetGet().GetVersions()
	same := call("search-edge:q")
	if !same.GetAllow().GetAllowed() || !same.GetUnchanged() || same.GetGet().GetValue() != nil || !slices.Equal(same.GetGet().GetVersions(), held) {
		t.Errorf("with the page held = %v; want unchanged, the versions and no value", same)
	}
	// The versions move: the page stored under the old ones is not read,
	// and a copy held under them is not current.
	if _, err := f.client.BumpVersions(ctx, &cachev1.BumpVersionsRequest{VersionKeys: keys}); err != nil {
		t.Fatal(err)
	}
	stale := call("search-edge:q")
	if !stale.GetAllow().GetAllowed() || stale.GetGet().GetFound() || stale.GetUnchanged() {
		t.Errorf("after a version bump = %v; want allowed, changed and not found", stale)
	}
	// Over the limit: refused, and nothing is read.
	refused := call("search-edge:q")
	if refused.GetAllow().GetAllowed() || refused.GetAllow().GetRemaining() != 0 || refused.GetGet() != nil {
		t.Errorf("fourth call = %v; want refused with no read", refused)
	}
}

func TestSetVersionedStoresItsFurtherValuesAndRefusesABadOneWithItsField(t *testing.T) {
	ctx := context.Background()
	f := serve(t, liveStore(t, nil))
	keys := []string{"sources:user-2"}
	first, err := f.client.GetVersioned(ctx, &cachev1.GetVersionedRequest{VersionKeys: keys, Key: "search:q", VersionsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.client.SetVersioned(ctx, &cachev1.SetVersionedRequest{
		Key: "search:q", Versions: first.GetVersions(), Value: []byte("page"), Ttl: durationpb.New(time.Minute),
		Also: []*cachev1.VersionedValue{{Key: "", Value: []byte("x")}},
	})
	if code, reason, fields := statusOf(err); code != codes.InvalidArgument || reason != "VALIDATION_ERROR" || !slices.Equal(fields, []string{"also[0].key"}) {
		t.Fatalf("an empty further key: %v; want INVALID_ARGUMENT naming also[0].key", err)
	}
	if _, err := f.client.SetVersioned(ctx, &cachev1.SetVersionedRequest{
		Key: "search:q", Versions: first.GetVersions(), Value: []byte("page"), Ttl: durationpb.New(time.Minute),
		Also: []*cachev1.VersionedValue{{Key: "search-edge:q", Value: []byte("edge page")}},
	}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"search:q": "page", "search-edge:q": "edge page"} {
		deadline := time.Now().Add(2 * time.Second)
		for {
			got, err := f.client.GetVersioned(ctx, &cachev1.GetVersionedRequest{VersionKeys: keys, Key: key})
			if err == nil && got.GetFound() {
				if string(got.GetValue()) != want {
					t.Fatalf("%s = %q; want %q", key, got.GetValue(), want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not found after it was stored: %v, %v", key, got, err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}
