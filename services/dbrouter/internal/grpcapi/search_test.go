package grpcapi

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/dbrouter/internal/fulltext"
	"github.com/altus4/altus/services/dbrouter/internal/store"
)

// addUnreachable saves a source of userID whose server does not listen,
// as if it had stopped after it was registered.
func (h *harness) addUnreachable(t *testing.T, userID, name string) string {
	t.Helper()
	enc, err := h.cipher.Encrypt(h.pass)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	src := store.Source{ID: uuid.NewString(), UserID: userID, Name: name, Host: "127.0.0.1", Port: testenv.FreePort(t),
		Database: h.target.Database, Username: h.user, Password: enc, IsActive: true, Status: "connected",
		CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := store.New(h.meta).Insert(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	return src.ID
}

func TestDescribeSourcesDescribesSchemaServerAndFingerprintInTheOrderAsked(t *testing.T) {
	h := newHarness(t)
	ctx := h.as("owner")
	a := h.create(t, "owner", "a")
	b := h.create(t, "owner", "b")
	h.create(t, "someone else", "c")

	all, err := h.client.DescribeSources(ctx, &dbrouterv1.DescribeSourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range all.GetSources() {
		names = append(names, d.GetName())
	}
	if !slices.Equal(names, []string{"b", "a"}) && !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("all sources = %v, want the caller's a and b", names)
	}
	asked, err := h.client.DescribeSources(ctx, &dbrouterv1.DescribeSourcesRequest{Ids: []string{a.GetId(), b.GetId(), a.GetId()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(asked.GetSources()) != 2 || asked.GetSources()[0].GetId() != a.GetId() || asked.GetSources()[1].GetId() != b.GetId() {
		t.Fatalf("described %v, want a then b, once each", asked.GetSources())
	}
	d := asked.GetSources()[0]
	if d.GetErrorCode() != "" || d.GetVersion() != 1 || len(d.GetSchemaFingerprint()) != 64 || d.GetDatabase() != h.target.Database {
		t.Errorf("description header = %v", d)
	}
	if len(d.GetTables()) != 2 || d.GetTables()[0].GetTable() != "posts" || d.GetTables()[0].GetEngine() != "InnoDB" {
		t.Errorf("tables = %v, want posts and tags with their engine", d.GetTables())
	}
	sv := d.GetServer()
	if sv.GetFlavor() != "mariadb" || sv.GetStatementTimeLimit() != "max_statement_time" || sv.GetVersion() == "" {
		t.Errorf("server = %v", sv)
	}
	if sv.GetInnodbMinTokenSize() <= 0 || sv.GetInnodbMaxTokenSize() < sv.GetInnodbMinTokenSize() || sv.GetMyisamMinWordLen() <= 0 ||
		!sv.GetInnodbStopwordsEnabled() || !slices.Contains(sv.GetInnodbStopwords(), "the") {
		t.Errorf("server full-text facts = %v", sv)
	}
	// The fingerprint is the one the search runs with.
	resp, err := h.client.ExecuteSearch(ctx, &dbrouterv1.ExecuteSearchRequest{SourceId: a.GetId(), ExpectVersion: d.GetVersion(), Plans: []*dbrouterv1.SearchPlan{
		{Table: "posts", Index: "ft_title_body", Mode: "natural", Against: "anything", Limit: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetSchemaFingerprint() != d.GetSchemaFingerprint() || resp.GetVersion() != d.GetVersion() {
		t.Errorf("execute ran on %d/%s, described %d/%s", resp.GetVersion(), resp.GetSchemaFingerprint(), d.GetVersion(), d.GetSchemaFingerprint())
	}
}

func TestDescribeSourcesReportsAnUnreachableSourceAndDescribesTheOthers(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{describeTimeout: time.Second})
	ctx := h.as("owner")
	up := h.create(t, "owner", "up")
	down := h.addUnreachable(t, "owner", "down")

	resp, err := h.client.DescribeSources(ctx, &dbrouterv1.DescribeSourcesRequest{Ids: []string{down, up.GetId()}})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetSources()
	if len(got) != 2 {
		t.Fatalf("%d sources described, want 2", len(got))
	}
	if got[0].GetErrorCode() != ReasonDatabaseConnectionFailed || got[0].GetErrorMessage() == "" || got[0].GetName() != "down" ||
		got[0].GetServer() != nil || len(got[0].GetTables()) != 0 {
		t.Errorf("down source = %v, want DATABASE_CONNECTION_FAILED with a message and nothing else", got[0])
	}
	if got[1].GetErrorCode() != "" || len(got[1].GetTables()) != 2 {
		t.Errorf("up source = %v, want it described", got[1])
	}

	_, err = h.client.ExecuteSearch(ctx, &dbrouterv1.ExecuteSearchRequest{SourceId: down, Plans: []*dbrouterv1.SearchPlan{
		{Table: "posts", Index: "ft_title_body", Mode: "natural", Against: "x", Limit: 1},
	}})
	if c, r := codeReason(err); c != codes.Unavailable || r != ReasonDatabaseConnectionFailed {
		t.Errorf("ExecuteSearch on the down source = %v %q, want Unavailable DATABASE_CONNECTION_FAILED", c, r)
	}
}

func TestDescribeSourcesWithAnotherUsersIDFailsTheWholeCall(t *testing.T) {
	h := newHarness(t)
	mine := h.create(t, "owner", "mine")
	theirs := h.create(t, "other", "theirs")
	_, err := h.client.DescribeSources(h.as("owner"), &dbrouterv1.DescribeSourcesRequest{Ids: []string{mine.GetId(), theirs.GetId()}})
	if c, r := codeReason(err); c != codes.NotFound || r != ReasonConnectionNotFound {
		t.Errorf("got %v %q, want NotFound CONNECTION_NOT_FOUND", c, r)
	}
}

func TestExecuteSearchThroughTheClient(t *testing.T) {
	h := newHarness(t)
	ctx := h.as("owner")
	if _, err := h.admin.Exec(`INSERT INTO posts VALUES
		(1, 'Full-text search in MariaDB', 'MATCH AGAINST ranks rows by relevance'),
		(2, 'Cooking pasta', NULL),
		(3, 'Search engines', 'inverted indexes and relevance'),
		(4, 'Gardening', 'tomatoes')`); err != nil {
		t.Fatal(err)
	}
	src := h.create(t, "owner", "blog")
	resp, err := h.client.ExecuteSearch(ctx, &dbrouterv1.ExecuteSearchRequest{SourceId: src.GetId(),
		Plans: []*dbrouterv1.SearchPlan{
			{Table: "posts", Index: "ft_title_body", Mode: "boolean", Against: "search relevance", Limit: 10, Count: true},
			{Table: "posts", Index: "ft_title_body", Mode: "natural", Against: "pasta", Limit: 10, Explain: true},
		},
		Counts: []*dbrouterv1.CountPlan{{Table: "posts", Matches: []*dbrouterv1.SearchPlan{{Index: "ft_title_body", Mode: "boolean", Against: "pasta tomatoes"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := resp.GetPlans()[0]
	if diff := cmp.Diff([]string{"id", "title", "body"}, p.GetColumns()); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	var got [][]string
	for _, r := range p.GetRows() {
		if r.GetScore() <= 0 || len(r.GetNulls()) != 3 {
			t.Errorf("row %v", r)
		}
		got = append(got, r.GetValues())
	}
	// Equal scores: by primary key.
	want := [][]string{{"1", "Full-text search in MariaDB", "MATCH AGAINST ranks rows by relevance"}, {"3", "Search engines", "inverted indexes and relevance"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if p.GetTotal() != 2 || p.GetTotalEstimated() || p.GetErrorCode() != "" || p.GetStatement() == "" || p.GetElapsedMs() <= 0 {
		t.Errorf("plan result = %v", p)
	}
	if e := resp.GetPlans()[1]; len(e.GetExplain()) == 0 || e.GetExplain()[0].GetFields()["table"] != "posts" || len(e.GetRows()) != 0 || e.GetTotal() != -1 {
		t.Errorf("explain result = %v", e)
	}
	if c := resp.GetCounts()[0]; c.GetTotal() != 2 || c.GetTotalEstimated() {
		t.Errorf("count result = %v, want 2", c)
	}
	if resp.GetVersion() != 1 || resp.GetSchemaFingerprint() == "" {
		t.Errorf("response version %d fingerprint %q", resp.GetVersion(), resp.GetSchemaFingerprint())
	}
}

// sortedValues returns the values of rows, sorted.
func sortedValues(rows []*dbrouterv1.Row) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.GetValues()
	}
	slices.SortFunc(out, slices.Compare)
	return out
}

func TestTwoPhaseSearchThroughTheClient(t *testing.T) {
	h := newHarness(t)
	ctx := h.as("owner")
	for _, stmt := range []string{
		`INSERT INTO posts VALUES
			(1, 'Full-text search in MariaDB', 'MATCH AGAINST ranks rows by relevance'),
			(2, 'Cooking pasta', NULL),
			(3, 'Search engines', 'inverted indexes and relevance'),
			(4, 'Gardening', 'search for tomatoes')`,
		"INSERT INTO tags VALUES (1, 'db'), (1, 'search'), (3, 'search')",
		"CREATE TABLE files (id BINARY(4) PRIMARY KEY, name VARCHAR(100), FULLTEXT KEY ft_name (name))",
		"INSERT INTO files VALUES (x'ff00c328', 'search notes'), (x'00000001', 'search plans'), (x'00000002', 'other')",
	} {
		if _, err := h.admin.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	src := h.create(t, "owner", "blog")

	// Phase 1: keys and scores only, with the total.
	full := &dbrouterv1.SearchPlan{Table: "posts", Index: "ft_title_body", Mode: "natural", Against: "search relevance", Limit: 10, Count: true}
	keys := proto.Clone(full).(*dbrouterv1.SearchPlan)
	keys.KeysOnly = true
	resp, err := h.client.ExecuteSearch(ctx, &dbrouterv1.ExecuteSearchRequest{SourceId: src.GetId(),
		Plans: []*dbrouterv1.SearchPlan{full, keys, {Table: "files", Index: "ft_name", Mode: "boolean", Against: "search", Limit: 10, KeysOnly: true}},
		Counts: []*dbrouterv1.CountPlan{
			{Table: "posts", Op: "all", Matches: []*dbrouterv1.SearchPlan{{Index: "ft_title_body", Mode: "boolean", Against: "search"}, {Index: "ft_title_body", Mode: "boolean", Against: "relevance"}}},
			{Table: "posts", Matches: []*dbrouterv1.SearchPlan{{Index: "ft_title_body", Mode: "boolean", Against: "search"}, {Index: "ft_title_body", Mode: "boolean", Against: "relevance"}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f, k := resp.GetPlans()[0], resp.GetPlans()[1]
	if diff := cmp.Diff([]string{"id"}, k.GetColumns()); diff != "" {
		t.Errorf("keys-only columns (-want +got):\n%s", diff)
	}
	if len(f.GetRows()) != 3 || len(k.GetRows()) != 3 || k.GetTotal() != 3 || f.GetTotal() != 3 {
		t.Fatalf("full plan %v, keys only %v", f, k)
	}
	var postKeys []*dbrouterv1.RowKey
	for i, r := range k.GetRows() {
		if r.GetValues()[0] != f.GetRows()[i].GetValues()[0] || r.GetScore() != f.GetRows()[i].GetScore() || len(r.GetValues()) != 1 {
			t.Errorf("keys-only row %d = %v, full plan row %v", i, r, f.GetRows()[i])
		}
		postKeys = append(postKeys, &dbrouterv1.RowKey{Values: r.GetValues()})
	}
	var fileKeys []string
	for _, r := range resp.GetPlans()[2].GetRows() {
		fileKeys = append(fileKeys, r.GetValues()[0])
	}
	slices.Sort(fileKeys)
	if diff := cmp.Diff([]string{"00000001", "ff00c328"}, fileKeys); diff != "" {
		t.Errorf("binary keys are hex (-want +got):\n%s", diff)
	}
	if all, any := resp.GetCounts()[0], resp.GetCounts()[1]; all.GetTotal() != 2 || any.GetTotal() != 3 {
		t.Errorf("count all = %d, any = %d; want 2 (posts 1 and 3) and 3", all.GetTotal(), any.GetTotal())
	}

	// Phase 2: the page's rows by key.
	resp, err = h.client.ExecuteSearch(ctx, &dbrouterv1.ExecuteSearchRequest{SourceId: src.GetId(), Fetches: []*dbrouterv1.FetchPlan{
		{Table: "posts", Keys: append(postKeys, &dbrouterv1.RowKey{Values: []string{"99"}})},
		{Table: "tags", Keys: []*dbrouterv1.RowKey{{Values: []string{"3", "search"}}, {Values: []string{"1", "db"}}, {Values: []string{"3", "db"}}}},
		{Table: "files", Keys: []*dbrouterv1.RowKey{{Values: []string{"ff00c328"}}, {Values: []string{"00000003"}}}, Columns: []string{"name"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cols []string
		rows [][]string
	}{
		{[]string{"id", "title", "body"}, [][]string{
			{"1", "Full-text search in MariaDB", "MATCH AGAINST ranks rows by relevance"},
			{"3", "Search engines", "inverted indexes and relevance"},
			{"4", "Gardening", "search for tomatoes"},
		}},
		{[]string{"post_id", "tag"}, [][]string{{"1", "db"}, {"3", "search"}}},
		{[]string{"id", "name"}, [][]string{{"ff00c328", "search notes"}}},
	}
	for i, tt := range tests {
		got := resp.GetFetches()[i]
		// The keys are placeholders: no digit after WHERE.
		stmt := got.GetStatement()
		where := stmt[strings.Index(stmt, " WHERE ")+1:]
		if got.GetErrorCode() != "" || got.GetTotal() != -1 || !strings.Contains(where, " IN (") || strings.ContainsAny(where, "0123456789") {
			t.Errorf("fetch %d = %v", i, got)
		}
		if diff := cmp.Diff(tt.cols, got.GetColumns()); diff != "" {
			t.Errorf("fetch %d columns (-want +got):\n%s", i, diff)
		}
		if diff := cmp.Diff(tt.rows, sortedValues(got.GetRows())); diff != "" {
			t.Errorf("fetch %d rows (-want +got):\n%s", i, diff)
		}
	}
	if len(resp.GetPlans()) != 0 || len(resp.GetCounts()) != 0 {
		t.Errorf("a call of fetches only answered %d plans and %d counts", len(resp.GetPlans()), len(resp.GetCounts()))
	}
}

func TestExecuteSearchErrorsCarryCodesReasonsAndFields(t *testing.T) {
	h := newHarness(t)
	ctx := h.as("owner")
	if _, err := h.admin.Exec("CREATE TABLE notes (body TEXT, FULLTEXT KEY ft_body (body))"); err != nil {
		t.Fatal(err)
	}
	src := h.create(t, "owner", "blog")
	ok := &dbrouterv1.SearchPlan{Table: "posts", Index: "ft_title_body", Mode: "natural", Against: "x", Limit: 1}
	tests := []struct {
		name       string
		req        *dbrouterv1.ExecuteSearchRequest
		wantCode   codes.Code
		wantReason string
		wantFields []string
	}{
		{"invalid plans", &dbrouterv1.ExecuteSearchRequest{SourceId: src.GetId(), Plans: []*dbrouterv1.SearchPlan{
			ok, {Table: "tags", Index: "PRIMARY", Mode: "natural", Against: "x", Limit: 0},
		}}, codes.InvalidArgument, grpcx.ReasonValidation, []string{"plans[1].index", "plans[1].limit"}},
		{"negative timeout", &dbrouterv1.ExecuteSearchRequest{SourceId: src.GetId(), StatementTimeoutMs: -1, Plans: []*dbrouterv1.SearchPlan{ok}},
			codes.InvalidArgument, grpcx.ReasonValidation, []string{"statementTimeoutMs"}},
		{"moved version", &dbrouterv1.ExecuteSearchRequest{SourceId: src.GetId(), ExpectVersion: 2, Plans: []*dbrouterv1.SearchPlan{ok}},
			codes.FailedPrecondition, ReasonSourceChanged, nil},
		{"invalid count op and keys-only plan", &dbrouterv1.ExecuteSearchRequest{SourceId: src.GetId(),
			Plans:  []*dbrouterv1.SearchPlan{{Table: "notes", Index: "ft_body", Mode: "natural", Against: "x", Limit: 1, KeysOnly: true}},
			Counts: []*dbrouterv1.CountPlan{{Table: "posts", Op: "xor", Matches: []*dbrouterv1.SearchPlan{ok}}},
		}, codes.InvalidArgument, grpcx.ReasonValidation, []string{"plans[0].keysOnly", "counts[0].op"}},
		{"invalid fetches", &dbrouterv1.ExecuteSearchRequest{SourceId: src.GetId(), Fetches: []*dbrouterv1.FetchPlan{
			{Table: "tags", Keys: []*dbrouterv1.RowKey{{Values: []string{"1", "go"}}, {Values: []string{"1"}}, {Values: []string{"x", "go"}}}},
			{Table: "notes", Keys: []*dbrouterv1.RowKey{{Values: []string{"1"}}}},
			{Table: "posts"},
		}}, codes.InvalidArgument, grpcx.ReasonValidation, []string{"fetches[0].keys[1].values", "fetches[0].keys[2].values[0]", "fetches[1].table", "fetches[2].keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.client.ExecuteSearch(ctx, tt.req)
			if c, r := codeReason(err); c != tt.wantCode || r != tt.wantReason {
				t.Errorf("got %v %q (%v), want %v %q", c, r, err, tt.wantCode, tt.wantReason)
			}
			if diff := cmp.Diff(tt.wantFields, fieldViolations(err)); diff != "" {
				t.Errorf("field violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanResultsCarryTheirReasons(t *testing.T) {
	timeout := &testPlanError{kind: fulltext.ErrTimeout}
	failed := &testPlanError{kind: fulltext.ErrQueryFailed}
	tests := []struct {
		in   fulltext.Result
		want *dbrouterv1.PlanResult
	}{
		{fulltext.Result{Total: -1, Err: timeout, Statement: "SELECT 1"},
			&dbrouterv1.PlanResult{Total: -1, ErrorCode: ReasonTimeout, ErrorMessage: "public", Statement: "SELECT 1", Rows: []*dbrouterv1.Row{}}},
		{fulltext.Result{Total: -1, Err: failed},
			&dbrouterv1.PlanResult{Total: -1, ErrorCode: ReasonQueryFailed, ErrorMessage: "public", Rows: []*dbrouterv1.Row{}}},
		{fulltext.Result{Total: 5_000_000_000, TotalEstimated: true, Elapsed: 1500 * time.Microsecond},
			&dbrouterv1.PlanResult{Total: 2147483647, TotalEstimated: true, ElapsedMs: 1.5, Rows: []*dbrouterv1.Row{}}},
	}
	for _, tt := range tests {
		got := resultProto(tt.in)
		if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if !proto.Equal(tt.want, got) {
			t.Errorf("not equal: %v", got)
		}
	}
}

type testPlanError struct{ kind error }

func (e *testPlanError) Error() string         { return e.kind.Error() }
func (e *testPlanError) Is(target error) bool  { return errors.Is(e.kind, target) }
func (e *testPlanError) PublicMessage() string { return "public" }
