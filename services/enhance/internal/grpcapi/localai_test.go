package grpcapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/pkg/localai"
	"github.com/altus4/altus/services/enhance/internal/enhance"
	"github.com/altus4/altus/services/enhance/internal/openaiclient"
	"github.com/altus4/altus/services/enhance/internal/providertest"
)

// counted serves svc and returns a client of it and the number of
// Categorize calls the server has received, from its gRPC metrics.
func counted(t *testing.T, svc *enhance.Service) (enhancev1.EnhanceServiceClient, func() int) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := clientWithMetrics(t, svc, reg)
	return c, func() int {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var n float64
		for _, mf := range mfs {
			if mf.GetName() != "grpc_server_started_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "grpc_method" && l.GetValue() == "Categorize" {
						n += m.GetCounter().GetValue()
					}
				}
			}
		}
		return int(n)
	}
}

func withProvider(t *testing.T) (*enhance.Service, *providertest.Server) {
	srv := providertest.New(t)
	return enhance.New(enhance.Options{
		Provider: openaiclient.New(openaiclient.Options{APIKey: "sk-test", BaseURL: srv.BaseURL(), Model: "gpt-test", EmbeddingModel: "embed-test"}),
	}), srv
}

// clock is a settable clock for the client's window.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// categorizeRequests are pages as the search service asks them: package
// results of one or two tables, with and without a category column, a
// single result, and words in several scripts and cases.
func categorizeRequests() []*enhancev1.CategorizeRequest {
	names := []string{"redis-py", "PyMySQL", "go-redis", "node-mysql2", "rueidis", "ioredis", "sqlalchemy", "Jedis", "lettuce", "mysqlclient", "Predis", "aiomysql"}
	sentences := []string{
		"Client for Redis with cluster support and pipelining.",
		"Pure-Python MySQL driver with prepared statements.",
		"Connection pooling, automatic reconnection and TLS are built in.",
		"Cluster mode routes every command to the shard owning its key.",
		"Transactions, Lua scripting and Pub/Sub are available.",
		"Query results are decoded into native types without reflection.",
		"Tested against MySQL 8.0 and MariaDB 10.6 in continuous integration.",
		"Async APIs let thousands of queries run concurrently.",
		"Client-side caching keeps hot keys in memory.",
		"Café naïve ÉCOLE, O'Neil's full-text Straße.",
	}
	page := func(tables []string, extra func(i int) []*enhancev1.Field) []*enhancev1.Document {
		docs := make([]*enhancev1.Document, len(names))
		for i, n := range names {
			var desc strings.Builder
			for k := range 8 {
				desc.WriteString(sentences[(i*3+k*7)%len(sentences)] + " ")
			}
			d := &enhancev1.Document{Id: fmt.Sprint(i + 1), Database: "src", Table: tables[i%len(tables)], Fields: []*enhancev1.Field{
				{Name: "name", Text: n}, {Name: "summary", Text: sentences[i%len(sentences)]}, {Name: "description", Text: desc.String()},
			}}
			if extra != nil {
				d.Fields = append(d.Fields, extra(i)...)
			}
			docs[i] = d
		}
		return docs
	}
	tagged := func(i int) []*enhancev1.Field {
		return []*enhancev1.Field{{Name: "Tags", Text: []string{"database, Redis", "sql", "", "Search,Full-Text"}[i%4]}}
	}
	return []*enhancev1.CategorizeRequest{
		{Query: "redis client", Documents: page([]string{"packages"}, nil)},
		{Query: "", Documents: page([]string{"packages", "projects"}, nil)},
		{Query: "MySQL", Documents: page([]string{"packages"}, tagged), MaxCategories: 10},
		{Query: "redis", Documents: page([]string{"Packages"}, nil)[:1], MaxCategories: 1},
	}
}

// sameAnswer compares answers but for the time they took.
var sameAnswer = []cmp.Option{protocmp.Transform(), protocmp.IgnoreFields(&enhancev1.Origin{}, "elapsed_ms")}

func TestLocalClientAnswersAsTheServiceWithoutAProviderWithinItsWindow(t *testing.T) {
	remote, calls := counted(t, enhance.New(enhance.Options{}))
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	c := localai.NewClient(remote, localai.ClientOptions{LocalWindow: 10 * time.Second, Now: clk.Now})
	ctx := context.Background()
	reqs := categorizeRequests()

	first, err := c.Categorize(ctx, reqs[0])
	if err != nil {
		t.Fatal(err)
	}
	if o := first.GetOrigin(); calls() != 1 || o.GetSource() != localai.SourceFallback || o.GetReason() != localai.ReasonNotConfigured {
		t.Fatalf("first call: %d calls served, origin %v; want the service's not_configured answer", calls(), o)
	}
	for i, req := range reqs {
		want, err := remote.Categorize(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		before := calls()
		got, err := c.Categorize(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if calls() != before {
			t.Errorf("request %d reached the service within the window", i)
		}
		if diff := cmp.Diff(want, got, sameAnswer...); diff != "" {
			t.Errorf("request %d: local answer differs from the service's (-service +local):\n%s", i, diff)
		}
	}

	// A request the service refuses is sent to it, and refused as it would
	// be; the error ends the window.
	before := calls()
	if _, err := c.Categorize(ctx, &enhancev1.CategorizeRequest{Documents: reqs[0].GetDocuments(), MaxCategories: 11}); status.Code(err) != codes.InvalidArgument || calls() != before+1 {
		t.Errorf("invalid request: %v after %d calls; want INVALID_ARGUMENT from the service", err, calls()-before)
	}
	if _, err := c.Categorize(ctx, reqs[0]); err != nil || calls() != before+2 {
		t.Errorf("after an error: %v, %d calls; want the service asked again", err, calls()-before)
	}

	// The window ends: the service is asked again, and its answer opens
	// the next window.
	clk.Advance(10*time.Second - time.Nanosecond)
	if _, err := c.Categorize(ctx, reqs[1]); err != nil || calls() != before+2 {
		t.Errorf("just within the window: %v, %d calls; want a local answer", err, calls()-before)
	}
	clk.Advance(time.Nanosecond)
	if _, err := c.Categorize(ctx, reqs[1]); err != nil || calls() != before+3 {
		t.Errorf("at the window's end: %v, %d calls; want the service asked", err, calls()-before)
	}
	if _, err := c.Categorize(ctx, reqs[1]); err != nil || calls() != before+3 {
		t.Errorf("in the next window: %v, %d calls; want a local answer", err, calls()-before)
	}

	// A caller out of time gets the error the call would have had.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Categorize(cctx, reqs[1]); status.Code(err) != codes.Canceled {
		t.Errorf("canceled caller: %v, want CANCELED", err)
	}
}

func TestLocalClientNeverAnswersLocallyWithAProvider(t *testing.T) {
	svc, provider := withProvider(t)
	remote, calls := counted(t, svc)
	c := localai.NewClient(remote, localai.ClientOptions{})
	ctx := context.Background()
	req := categorizeRequests()[0]
	// The provider fails once: the service answers from its fallback for
	// another reason, which is no reason to stop asking it.
	provider.Script(providertest.Reply{Status: 500})
	for i := range 4 {
		resp, err := c.Categorize(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if calls() != i+1 {
			t.Fatalf("call %d: the service served %d calls; want every call", i+1, calls())
		}
		wantSource := enhance.SourceProvider
		if i == 0 {
			wantSource = enhance.SourceFallback
		}
		if o := resp.GetOrigin(); o.GetSource() != wantSource || o.GetReason() == localai.ReasonNotConfigured {
			t.Errorf("call %d: origin %v, want %s", i+1, o, wantSource)
		}
	}
}

// replicas is an enhance service client over whichever of several real
// servers is current, as a balancer moves between replicas.
type replicas struct {
	enhancev1.EnhanceServiceClient
	mu      sync.Mutex
	current enhancev1.EnhanceServiceClient
}

func (r *replicas) Categorize(ctx context.Context, req *enhancev1.CategorizeRequest, opts ...grpc.CallOption) (*enhancev1.CategorizeResponse, error) {
	r.mu.Lock()
	c := r.current
	r.mu.Unlock()
	return c.Categorize(ctx, req, opts...)
}

func (r *replicas) use(c enhancev1.EnhanceServiceClient) { r.mu.Lock(); r.current = c; r.mu.Unlock() }

func TestLocalClientFollowsAProviderConfiguredWithinItsWindow(t *testing.T) {
	bare, bareCalls := counted(t, enhance.New(enhance.Options{}))
	svc, _ := withProvider(t)
	configured, configuredCalls := counted(t, svc)
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	r := &replicas{current: bare}
	c := localai.NewClient(r, localai.ClientOptions{LocalWindow: 10 * time.Second, Now: clk.Now})
	ctx := context.Background()
	req := categorizeRequests()[0]
	origin := func() *enhancev1.Origin {
		t.Helper()
		resp, err := c.Categorize(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetOrigin()
	}

	if o := origin(); o.GetReason() != localai.ReasonNotConfigured || bareCalls() != 1 {
		t.Fatalf("origin %v after %d calls", o, bareCalls())
	}
	r.use(configured)
	if o := origin(); o.GetReason() != localai.ReasonNotConfigured || bareCalls()+configuredCalls() != 1 {
		t.Errorf("within the window: origin %v, %d calls; want the local answer", o, bareCalls()+configuredCalls())
	}
	clk.Advance(10 * time.Second)
	for i := range 2 {
		if o := origin(); o.GetSource() != enhance.SourceProvider || configuredCalls() != i+1 {
			t.Errorf("after the window, call %d: origin %v, %d calls to the configured replica; want its provider", i+1, o, configuredCalls())
		}
	}
}
