package dbrouterclient_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/test/bufconn"

	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/services/search/internal/dbrouterclient"
	"github.com/altus4/altus/services/search/internal/search"
)

// fake is a dbrouter answering with fixed messages or errors.
type fake struct {
	dbrouterv1.UnimplementedDBRouterServiceServer
	describeErr error
	execErr     error
	execDelay   time.Duration
	lastExec    *dbrouterv1.ExecuteSearchRequest
}

func (f *fake) DescribeSources(ctx context.Context, req *dbrouterv1.DescribeSourcesRequest) (*dbrouterv1.DescribeSourcesResponse, error) {
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	return &dbrouterv1.DescribeSourcesResponse{Sources: []*dbrouterv1.SourceDescription{{
		Id: "s1", Name: "kb", Database: "kb_db", Version: 3, SchemaFingerprint: "fp",
		Server: &dbrouterv1.ServerInfo{Version: "10.11", Flavor: "mariadb", InnodbMinTokenSize: 3, InnodbMaxTokenSize: 84,
			MyisamMinWordLen: 4, MyisamMaxWordLen: 84, InnodbStopwords: []string{"the"}, InnodbStopwordsEnabled: true, MyisamStopwords: []string{"a"}},
		Tables: []*dbrouterv1.TableSchema{{
			Table: "posts", Engine: "InnoDB", PrimaryKey: []string{"id"},
			Columns: []*dbrouterv1.Column{
				{Name: "id", Type: "bigint", IsPrimaryKey: true},
				{Name: "subject", Type: "varchar", IsSearchable: true, IsFullTextIndexed: true},
			},
			FullTextIndexes: []*dbrouterv1.FullTextIndex{{Name: "ft_subject", Columns: []string{"subject"}, Type: "FULLTEXT"}},
		}},
	}, {Id: "s2", Name: "down", Database: "down_db", ErrorCode: "DATABASE_CONNECTION_FAILED", ErrorMessage: "refused"}}}, nil
}

func (f *fake) ExecuteSearch(ctx context.Context, req *dbrouterv1.ExecuteSearchRequest) (*dbrouterv1.ExecuteSearchResponse, error) {
	f.lastExec = req
	if f.execDelay > 0 {
		select {
		case <-time.After(f.execDelay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.execErr != nil {
		return nil, f.execErr
	}
	return &dbrouterv1.ExecuteSearchResponse{
		Plans: []*dbrouterv1.PlanResult{{
			Columns: []string{"id", "subject"}, Total: 7, ElapsedMs: 1.5, Statement: "SELECT …",
			Rows:    []*dbrouterv1.Row{{Values: []string{"1", ""}, Nulls: []bool{false, true}, Score: 2.5}},
			Explain: []*dbrouterv1.ExplainRow{{Fields: map[string]string{"type": "fulltext"}}},
		}},
		Counts: []*dbrouterv1.PlanResult{{Total: -1, ErrorCode: "TIMEOUT", ErrorMessage: "slow"}},
		Fetches: []*dbrouterv1.PlanResult{{Columns: []string{"id", "subject"}, Total: -1, Statement: "SELECT … IN (?)",
			Rows: []*dbrouterv1.Row{{Values: []string{"1", "Pools"}, Nulls: []bool{false, false}}}}},
		QueuedMs: 0.5,
	}, nil
}

func client(t *testing.T, f *fake) *dbrouterclient.Client {
	t.Helper()
	srv := grpcx.NewServer(grpcx.ServerOptions{})
	dbrouterv1.RegisterDBRouterServiceServer(srv, f)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpcx.Dial("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return dbrouterclient.New(dbrouterv1.NewDBRouterServiceClient(conn))
}

func TestDescribeConvertsSources(t *testing.T) {
	got, err := client(t, &fake{}).Describe(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []search.Source{{
		ID: "s1", Name: "kb", Database: "kb_db", Version: 3, Fingerprint: "fp",
		Server: search.ServerInfo{Version: "10.11", Flavor: "mariadb", InnoDBMinTokenSize: 3, InnoDBMaxTokenSize: 84,
			MyISAMMinWordLen: 4, MyISAMMaxWordLen: 84, InnoDBStopwords: []string{"the"}, InnoDBStopwordsEnabled: true, MyISAMStopwords: []string{"a"}},
		Tables: []search.Table{{Name: "posts", Engine: "InnoDB", PrimaryKey: []string{"id"},
			Columns: []search.Column{{Name: "id", Type: "bigint", IsPrimaryKey: true}, {Name: "subject", Type: "varchar", IsSearchable: true, IsFullText: true}},
			Indexes: []search.Index{{Name: "ft_subject", Columns: []string{"subject"}}},
		}},
	}, {ID: "s2", Name: "down", Database: "down_db", Tables: []search.Table{}, ErrorCode: "DATABASE_CONNECTION_FAILED", ErrorMessage: "refused"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDescribeMapsErrorsToTheDomain(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		sentinel error
		code     codes.Code
	}{
		{"not found keeps dbrouter's message for the caller", grpcx.Error(codes.NotFound, "CONNECTION_NOT_FOUND", "Database connection not found."), search.ErrSourceNotFound, codes.OK},
		{"unavailable", grpcx.Error(codes.Unavailable, "SERVICE_UNAVAILABLE", "down"), search.ErrUnavailable, codes.OK},
		{"validation passes through", grpcx.Error(codes.InvalidArgument, "VALIDATION_ERROR", "ids: bad"), nil, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client(t, &fake{describeErr: tt.err}).Describe(context.Background(), []string{"x"})
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("err = %v, want %v", err, tt.sentinel)
			}
			if tt.code != codes.OK && (grpcx.Reason(err) != "VALIDATION_ERROR") {
				t.Errorf("err = %v, want the status as dbrouter sent it", err)
			}
		})
	}
	_, err := client(t, &fake{describeErr: grpcx.Error(codes.NotFound, "CONNECTION_NOT_FOUND", "Database connection not found.")}).Describe(context.Background(), []string{"x"})
	var pub interface{ PublicMessage() string }
	if !errors.As(err, &pub) || pub.PublicMessage() != "Database connection not found." {
		t.Errorf("not found error %v has no public message from dbrouter", err)
	}
}

func TestExecuteConvertsPlansAndResults(t *testing.T) {
	f := &fake{}
	got, err := client(t, f).Execute(context.Background(), search.ExecRequest{
		SourceID: "s1", StatementTimeout: 5 * time.Second,
		Plans:   []search.Plan{{Table: "posts", Index: "ft_subject", Mode: "boolean", Against: "+pool*", Limit: 20, Offset: 40, Count: true, Explain: true, KeysOnly: true}},
		Counts:  []search.CountPlan{{Table: "posts", Op: search.CountAll, Matches: []search.Plan{{Table: "posts", Index: "ft_subject", Mode: "boolean", Against: "+pool*"}}}},
		Fetches: []search.FetchPlan{{Table: "posts", Keys: [][]string{{"1"}, {"7"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sent := f.lastExec
	if sent.GetSourceId() != "s1" || sent.GetStatementTimeoutMs() != 5000 || len(sent.GetPlans()) != 1 || len(sent.GetCounts()) != 1 || len(sent.GetFetches()) != 1 {
		t.Fatalf("request sent: %v", sent)
	}
	p := sent.GetPlans()[0]
	if p.GetTable() != "posts" || p.GetIndex() != "ft_subject" || p.GetMode() != "boolean" || p.GetAgainst() != "+pool*" ||
		p.GetLimit() != 20 || p.GetOffset() != 40 || !p.GetCount() || !p.GetExplain() || !p.GetKeysOnly() {
		t.Errorf("plan sent: %v", p)
	}
	if c := sent.GetCounts()[0]; c.GetOp() != "all" || len(c.GetMatches()) != 1 {
		t.Errorf("count sent: %v", c)
	}
	fp := sent.GetFetches()[0]
	var keys [][]string
	for _, k := range fp.GetKeys() {
		keys = append(keys, k.GetValues())
	}
	if fp.GetTable() != "posts" || !cmp.Equal(keys, [][]string{{"1"}, {"7"}}) {
		t.Errorf("fetch sent: %v", fp)
	}
	want := search.ExecResponse{
		Plans: []search.PlanResult{{Columns: []string{"id", "subject"}, Total: 7, Elapsed: 1500 * time.Microsecond, Statement: "SELECT …",
			Rows:    []search.Row{{Values: []string{"1", ""}, Nulls: []bool{false, true}, Score: 2.5}},
			Explain: []map[string]string{{"type": "fulltext"}}}},
		Counts: []search.PlanResult{{Total: -1, ErrorCode: "TIMEOUT", ErrorMessage: "slow", Rows: []search.Row{}}},
		Fetches: []search.PlanResult{{Columns: []string{"id", "subject"}, Total: -1, Statement: "SELECT … IN (?)",
			Rows: []search.Row{{Values: []string{"1", "Pools"}, Nulls: []bool{false, false}}}}},
		Queued: 500 * time.Microsecond,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestExecuteFailuresAreSourceErrors(t *testing.T) {
	tests := []struct {
		name     string
		f        *fake
		timeout  time.Duration
		wantCode string
		timedOut bool
	}{
		{"refused connection", &fake{execErr: grpcx.Error(codes.FailedPrecondition, "DATABASE_CONNECTION_FAILED", "refused")}, time.Second, "DATABASE_CONNECTION_FAILED", false},
		{"invalid plan", &fake{execErr: grpcx.Error(codes.InvalidArgument, "VALIDATION_ERROR", "plans[0].index: gone")}, time.Second, "VALIDATION_ERROR", false},
		{"deadline", &fake{execDelay: time.Second}, 20 * time.Millisecond, search.CodeTimeout, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			_, err := client(t, tt.f).Execute(ctx, search.ExecRequest{SourceID: "s1"})
			var se *search.SourceError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *search.SourceError", err)
			}
			if se.Code != tt.wantCode || se.Timeout != tt.timedOut {
				t.Errorf("code %q timeout %v, want %q %v", se.Code, se.Timeout, tt.wantCode, tt.timedOut)
			}
		})
	}
}
