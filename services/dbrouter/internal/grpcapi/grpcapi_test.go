package grpcapi

import (
	"context"
	"database/sql"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/altus4/altus/pkg/config"
	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/dbrouter/internal/credential"
	"github.com/altus4/altus/services/dbrouter/internal/datasource"
	"github.com/altus4/altus/services/dbrouter/internal/fulltext"
	"github.com/altus4/altus/services/dbrouter/internal/migrations"
	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/store"
)

const secret = "a-test-secret-that-is-at-least-32-characters"

// harness is the service behind the real generated client over bufconn,
// with a user's database (another database on the same server) reachable
// with a dedicated account.
type harness struct {
	client dbrouterv1.DBRouterServiceClient
	signer *identity.Signer
	meta   *sql.DB
	admin  *sql.DB
	target config.MySQL
	user   string
	pass   string
	cipher *credential.Cipher
}

// harnessOptions change the harness's service.
type harnessOptions struct {
	tracer          trace.Tracer
	describeTimeout time.Duration
}

func newHarness(t testing.TB) *harness { return newHarnessWith(t, harnessOptions{}) }

func newHarnessWith(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	meta, _ := testenv.OpenDatabase(t)
	if _, err := migrate.Up(ctx, meta, migrations.Service, migrations.FS, nil); err != nil {
		t.Fatal(err)
	}
	admin, target := testenv.OpenDatabase(t)
	for _, stmt := range []string{
		"CREATE TABLE posts (id INT PRIMARY KEY, title VARCHAR(100), body TEXT, FULLTEXT KEY ft_title_body (title, body))",
		"CREATE TABLE tags (post_id INT, tag VARCHAR(30), PRIMARY KEY (post_id, tag))",
	} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{meta: meta, admin: admin, target: target, signer: identity.NewSigner(secret)}
	h.user, h.pass = "altus_t_"+testenv.RandomSuffix(8), "Secret-"+testenv.RandomSuffix(16)
	if _, err := admin.ExecContext(ctx, "CREATE USER '"+h.user+"'@'%' IDENTIFIED BY '"+h.pass+"'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP USER IF EXISTS '"+h.user+"'@'%'") })
	if _, err := admin.ExecContext(ctx, "GRANT SELECT ON `"+target.Database+"`.* TO '"+h.user+"'@'%'"); err != nil {
		t.Fatal(err)
	}

	cipher, err := credential.New(make([]byte, credential.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	pools := pool.NewManager(pool.Options{ReapInterval: -1})
	t.Cleanup(func() { _ = pools.Close(context.Background()) })
	schemas := schema.NewCache(schema.CacheOptions{TTL: time.Minute})
	t.Cleanup(schemas.Wait)
	h.cipher = cipher
	svc, err := datasource.New(datasource.Options{Store: store.New(meta), Cipher: cipher, Pools: pools, Schemas: schemas, DescribeTimeout: o.describeTimeout})
	if err != nil {
		t.Fatal(err)
	}
	exec, err := fulltext.New(fulltext.Options{Sources: svc, Tracer: o.tracer})
	if err != nil {
		t.Fatal(err)
	}

	srv := grpcx.NewServer(grpcx.ServerOptions{Logger: slog.New(slog.DiscardHandler), Signer: h.signer})
	dbrouterv1.RegisterDBRouterServiceServer(srv, New(svc, exec))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h.client = dbrouterv1.NewDBRouterServiceClient(conn)
	return h
}

// as returns a context acting for userID, as the gateway would send it.
func (h *harness) as(userID string) context.Context {
	a := h.signer.Sign(identity.Principal{UserID: userID, Role: identity.RoleUser}, time.Minute)
	return metadata.AppendToOutgoingContext(context.Background(), identity.MetadataKey, a)
}

func (h *harness) createRequest(name string) *dbrouterv1.CreateDataSourceRequest {
	port := int32(h.target.Port)
	return &dbrouterv1.CreateDataSourceRequest{Name: name, Host: h.target.Host, Port: &port, Database: h.target.Database, Username: h.user, Password: h.pass}
}

func (h *harness) create(t testing.TB, userID, name string) *dbrouterv1.Connection {
	t.Helper()
	resp, err := h.client.CreateDataSource(h.as(userID), h.createRequest(name))
	if err != nil {
		t.Fatalf("CreateDataSource: %v", err)
	}
	return resp.GetConnection()
}

// codeReason returns the status code and ErrorInfo reason of err.
func codeReason(err error) (codes.Code, string) {
	return status.Code(err), grpcx.Reason(err)
}

func fieldViolations(err error) []string {
	st, _ := status.FromError(err)
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

type rpc struct {
	name string
	call func(ctx context.Context, c dbrouterv1.DBRouterServiceClient, id string) (proto.Message, error)
}

// rpcs calls every RPC of the service, on id where the RPC takes one.
var rpcs = []rpc{
	{"ListDataSources", func(ctx context.Context, c dbrouterv1.DBRouterServiceClient, _ string) (proto.Message, error) {
		return c.ListDataSources(ctx, &dbrouterv1.ListDataSourcesRequest{})
	}},
	{"CreateDataSource", func(ctx context.Context, c dbrouterv1.DBRouterServiceClient, _ string) (proto.Message, error) {
		return c.CreateDataSource(ctx, &dbrouterv1.CreateDataSourceRequest{Name: "x", Host: "h", Database: "d", Username: "u"})
	}},
	{"GetDataSource", func(ctx context.Context, c dbrouterv1.DBRouterServiceClient, id string) (proto.Message, error) {
		return c.GetDataSource(ctx, &dbrouterv1.GetDataSourceRequest{Id: id})
	}},
	{"GetDataSourceStatus", func(ctx context.Context, c dbrouterv1.DBRouterServiceClient, _ string) (proto.Message, error) {
		return c.GetDataSourceStatus(ctx, &dbrouterv1.GetDataSourceStatusRequest{})
	}},
	{"UpdateDataSource", func(ctx context.Context, c dbrouterv1.DBRouterServiceClient, id string) (proto.Message, error) {
		name := "renamed"
		return c.UpdateDataSource(ctx, &dbrouterv1.UpdateDataSourceRequest{Id: id, Name: &name})
	}},
	{"DeleteDataSource", func(ctx context.Context, c dbrouterv1.DBRouterServiceClient, id string) (proto.Message, error) {
		return c.DeleteDataSource(ctx, &dbrouterv1.DeleteDataSourceRequest{Id: id})
	}},
	{"TestDataSource", func(ctx context.Context, c dbrouterv1.DBRouterServiceClient, id string) (proto.Message, error) {
		return c.TestDataSource(ctx, &dbrouterv1.TestDataSourceRequest{Id: id})
	}},
	{"GetDataSourceSchema", func(ctx context.Context, c dbrouterv1.DBRouterServiceClient, id string) (proto.Message, error) {
		return c.GetDataSourceSchema(ctx, &dbrouterv1.GetDataSourceSchemaRequest{Id: id, Refresh: true})
	}},
	{"DescribeSources", func(ctx context.Context, c dbrouterv1.DBRouterServiceClient, id string) (proto.Message, error) {
		return c.DescribeSources(ctx, &dbrouterv1.DescribeSourcesRequest{Ids: []string{id}})
	}},
	{"ExecuteSearch", func(ctx context.Context, c dbrouterv1.DBRouterServiceClient, id string) (proto.Message, error) {
		return c.ExecuteSearch(ctx, &dbrouterv1.ExecuteSearchRequest{SourceId: id, Plans: []*dbrouterv1.SearchPlan{
			{Table: "posts", Index: "ft_title_body", Mode: "natural", Against: "hello", Limit: 10, Count: true},
		}})
	}},
}

func TestEveryRPCWithoutACallerIsUnauthenticated(t *testing.T) {
	h := newHarness(t)
	for _, r := range rpcs {
		t.Run(r.name, func(t *testing.T) {
			_, err := r.call(context.Background(), h.client, uuid.NewString())
			gotCode, gotReason := codeReason(err)
			if gotCode != codes.Unauthenticated || gotReason != ReasonNoToken {
				t.Errorf("got %v %q, want Unauthenticated NO_TOKEN", gotCode, gotReason)
			}
		})
	}
}

func TestEveryRPCOnAnotherUsersSourceIsNotFound(t *testing.T) {
	h := newHarness(t)
	owned := h.create(t, "owner", "mine")
	for _, r := range rpcs {
		if r.name == "CreateDataSource" {
			continue // names no existing source
		}
		t.Run(r.name, func(t *testing.T) {
			resp, err := r.call(h.as("intruder"), h.client, owned.GetId())
			switch r.name {
			case "ListDataSources", "GetDataSourceStatus":
				// No id to name: the owner's source is simply not there.
				if err != nil {
					t.Fatal(err)
				}
				if text := protojson.Format(resp); strings.Contains(text, owned.GetId()) {
					t.Errorf("%s of another user shows the owner's source: %s", r.name, text)
				}
			default:
				gotCode, gotReason := codeReason(err)
				if gotCode != codes.NotFound || gotReason != ReasonConnectionNotFound {
					t.Errorf("got %v %q (%v), want NotFound CONNECTION_NOT_FOUND", gotCode, gotReason, err)
				}
			}
		})
	}
	// Nothing the intruder did touched the owner's source.
	got, err := h.client.GetDataSource(h.as("owner"), &dbrouterv1.GetDataSourceRequest{Id: owned.GetId()})
	if err != nil {
		t.Fatalf("owner's GetDataSource: %v", err)
	}
	if got.GetConnection().GetName() != "mine" {
		t.Errorf("owner's source name = %q, want it unchanged", got.GetConnection().GetName())
	}
}

func TestUnknownAndDeletedIDsAreNotFound(t *testing.T) {
	h := newHarness(t)
	ctx := h.as("owner")
	gone := h.create(t, "owner", "gone")
	if _, err := h.client.DeleteDataSource(ctx, &dbrouterv1.DeleteDataSourceRequest{Id: gone.GetId()}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{gone.GetId(), uuid.NewString(), "not-a-uuid", ""} {
		for _, r := range rpcs {
			if r.name == "ListDataSources" || r.name == "GetDataSourceStatus" || r.name == "CreateDataSource" {
				continue
			}
			_, err := r.call(ctx, h.client, id)
			if c, reason := codeReason(err); c != codes.NotFound || reason != ReasonConnectionNotFound {
				t.Errorf("%s(%q) = %v %q, want NotFound CONNECTION_NOT_FOUND", r.name, id, c, reason)
			}
		}
	}
}

func TestCreateErrorsCarryCodesReasonsAndFields(t *testing.T) {
	h := newHarness(t)
	ctx := h.as("owner")
	wrongPass := h.createRequest("bad")
	wrongPass.Password = "wrong"
	closed := h.createRequest("closed")
	port := int32(testenv.FreePort(t))
	closed.Port = &port
	badPort := int32(70000)

	tests := []struct {
		name       string
		req        *dbrouterv1.CreateDataSourceRequest
		wantCode   codes.Code
		wantReason string
		wantFields []string
	}{
		{"wrong password", wrongPass, codes.FailedPrecondition, ReasonDatabaseConnectionFailed, nil},
		{"nothing listening", closed, codes.FailedPrecondition, ReasonDatabaseConnectionFailed, nil},
		{"invalid fields", &dbrouterv1.CreateDataSourceRequest{Host: "mysql://x", Port: &badPort, Database: "a b"},
			codes.InvalidArgument, grpcx.ReasonValidation, []string{"name", "host", "port", "database", "username"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.client.CreateDataSource(ctx, tt.req)
			gotCode, gotReason := codeReason(err)
			if gotCode != tt.wantCode || gotReason != tt.wantReason {
				t.Errorf("got %v %q, want %v %q (%v)", gotCode, gotReason, tt.wantCode, tt.wantReason, err)
			}
			if diff := cmp.Diff(tt.wantFields, fieldViolations(err)); diff != "" {
				t.Errorf("field violations (-want +got):\n%s", diff)
			}
		})
	}
	list, err := h.client.ListDataSources(ctx, &dbrouterv1.ListDataSourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetConnections()); n != 0 {
		t.Errorf("%d sources saved by failed creates, want none", n)
	}
}

func TestConnectionFailureMessageNamesTheSourceAndNotAltus(t *testing.T) {
	h := newHarness(t)
	req := h.createRequest("bad")
	req.Password = "wrong"
	_, err := h.client.CreateDataSource(h.as("owner"), req)
	msg := status.Convert(err).Message()
	// The server names the client's address in its "access denied"
	// message ('user'@'client'); the caller must not see Altus's address.
	if strings.Contains(msg, "@'") || !strings.Contains(msg, h.target.Host) || !strings.Contains(msg, h.user) {
		t.Errorf("message %q should name the source and the user, and no client address", msg)
	}
}

func TestUpdateErrorsCarryCodesReasonsAndFields(t *testing.T) {
	h := newHarness(t)
	ctx := h.as("owner")
	c := h.create(t, "owner", "src")
	wrong, badHost, badName := "wrong", "db host", ""
	tests := []struct {
		name       string
		req        *dbrouterv1.UpdateDataSourceRequest
		wantCode   codes.Code
		wantReason string
		wantFields []string
	}{
		{"wrong password", &dbrouterv1.UpdateDataSourceRequest{Id: c.GetId(), Password: &wrong},
			codes.FailedPrecondition, ReasonDatabaseConnectionFailed, nil},
		{"invalid fields", &dbrouterv1.UpdateDataSourceRequest{Id: c.GetId(), Host: &badHost, Name: &badName},
			codes.InvalidArgument, grpcx.ReasonValidation, []string{"name", "host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.client.UpdateDataSource(ctx, tt.req)
			gotCode, gotReason := codeReason(err)
			if gotCode != tt.wantCode || gotReason != tt.wantReason {
				t.Errorf("got %v %q, want %v %q (%v)", gotCode, gotReason, tt.wantCode, tt.wantReason, err)
			}
			if diff := cmp.Diff(tt.wantFields, fieldViolations(err)); diff != "" {
				t.Errorf("field violations (-want +got):\n%s", diff)
			}
		})
	}
	got, err := h.client.GetDataSource(ctx, &dbrouterv1.GetDataSourceRequest{Id: c.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got.GetConnection(), c) {
		t.Errorf("source after failed updates = %v, want unchanged %v", got.GetConnection(), c)
	}
}

func TestLifecycleThroughTheClientNeverShowsThePassword(t *testing.T) {
	h := newHarness(t)
	ctx := h.as("owner")
	var responses []proto.Message
	keep := func(m proto.Message, err error) proto.Message {
		t.Helper()
		if err != nil {
			t.Fatalf("call failed: %v", err)
		}
		responses = append(responses, m)
		return m
	}

	created := keep(h.client.CreateDataSource(ctx, h.createRequest("blog"))).(*dbrouterv1.CreateDataSourceResponse).GetConnection()
	if created.GetConnectionStatus() != "connected" || created.GetPort() != int32(h.target.Port) || !created.GetIsActive() || created.GetLastTested() == nil {
		t.Errorf("created = %v", created)
	}
	id := created.GetId()
	list := keep(h.client.ListDataSources(ctx, &dbrouterv1.ListDataSourcesRequest{})).(*dbrouterv1.ListDataSourcesResponse)
	if len(list.GetConnections()) != 1 || !proto.Equal(list.GetConnections()[0], created) {
		t.Errorf("list = %v, want the created source", list)
	}
	got := keep(h.client.GetDataSource(ctx, &dbrouterv1.GetDataSourceRequest{Id: id})).(*dbrouterv1.GetDataSourceResponse)
	if !proto.Equal(got.GetConnection(), created) {
		t.Errorf("get = %v, want %v", got.GetConnection(), created)
	}
	statuses := keep(h.client.GetDataSourceStatus(ctx, &dbrouterv1.GetDataSourceStatusRequest{})).(*dbrouterv1.GetDataSourceStatusResponse)
	if diff := cmp.Diff(map[string]bool{id: true}, statuses.GetStatuses()); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	tested := keep(h.client.TestDataSource(ctx, &dbrouterv1.TestDataSourceRequest{Id: id})).(*dbrouterv1.TestDataSourceResponse)
	if !tested.GetConnected() || tested.GetServerVersion() == "" || tested.GetMessage() == "" {
		t.Errorf("test = %v", tested)
	}
	name := "renamed"
	updated := keep(h.client.UpdateDataSource(ctx, &dbrouterv1.UpdateDataSourceRequest{Id: id, Name: &name, Password: &h.pass})).(*dbrouterv1.UpdateDataSourceResponse)
	if updated.GetConnection().GetName() != "renamed" || updated.GetConnection().GetUsername() != h.user {
		t.Errorf("updated = %v", updated.GetConnection())
	}
	sc := keep(h.client.GetDataSourceSchema(ctx, &dbrouterv1.GetDataSourceSchemaRequest{Id: id})).(*dbrouterv1.GetDataSourceSchemaResponse)
	wantPosts := []*dbrouterv1.FullTextIndex{{Name: "ft_title_body", Columns: []string{"title", "body"}, Type: "FULLTEXT"}}
	if len(sc.GetTables()) != 2 || sc.GetTables()[0].GetTable() != "posts" {
		t.Fatalf("schema tables = %v", sc.GetTables())
	}
	if diff := cmp.Diff(wantPosts, sc.GetTables()[0].GetFullTextIndexes(), cmp.Comparer(proto.Equal)); diff != "" {
		t.Errorf("posts FULLTEXT (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"post_id", "tag"}, sc.GetTables()[1].GetPrimaryKey()); diff != "" {
		t.Errorf("tags primary key (-want +got):\n%s", diff)
	}
	deleted := keep(h.client.DeleteDataSource(ctx, &dbrouterv1.DeleteDataSourceRequest{Id: id})).(*dbrouterv1.DeleteDataSourceResponse)
	if !deleted.GetSuccess() {
		t.Error("delete did not report success")
	}

	var stored string
	if err := h.meta.QueryRow("SELECT password FROM data_sources WHERE id = ?", id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	for _, m := range responses {
		text := protojson.Format(m)
		if strings.Contains(text, h.pass) || strings.Contains(text, stored) || strings.Contains(strings.ToLower(text), "password") {
			t.Errorf("a response shows the password: %s", text)
		}
	}
}

func TestReplicasRoundTripThroughTheAPIWithTheirHealthAndClear(t *testing.T) {
	h := newHarness(t)
	ctx := h.as("owner")
	req := h.createRequest("with replica")
	// The test server itself, listed as a replica: reachable with the same
	// credentials, but replicating from nobody.
	req.Replicas = []*dbrouterv1.Replica{{Host: h.target.Host, Port: int32(h.target.Port)}}
	created, err := h.client.CreateDataSource(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	c := created.GetConnection()
	if diff := cmp.Diff(req.Replicas, c.GetReplicas(), protocmp.Transform()); diff != "" {
		t.Errorf("replicas (-want +got):\n%s", diff)
	}
	st := c.GetReplicaStatus()
	if len(st) != 1 || st[0].GetHost() != h.target.Host || st[0].GetState() != "unknown" || st[0].GetLagSeconds() != -1 {
		t.Errorf("replica status of a source never searched = %v, want one unknown with lag -1", st)
	}

	_, err = h.client.UpdateDataSource(ctx, &dbrouterv1.UpdateDataSourceRequest{Id: c.GetId(), ClearReplicas: true, Replicas: req.Replicas})
	if code, reason := codeReason(err); code != codes.InvalidArgument || reason != grpcx.ReasonValidation {
		t.Errorf("replicas with clearReplicas: %v %q, want InvalidArgument %q", code, reason, grpcx.ReasonValidation)
	}
	if diff := cmp.Diff([]string{"clearReplicas"}, fieldViolations(err)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	updated, err := h.client.UpdateDataSource(ctx, &dbrouterv1.UpdateDataSourceRequest{Id: c.GetId(), ClearReplicas: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := updated.GetConnection(); len(got.GetReplicas()) != 0 || len(got.GetReplicaStatus()) != 0 {
		t.Errorf("after clearReplicas: replicas %v, status %v; want none", got.GetReplicas(), got.GetReplicaStatus())
	}

	bad := h.createRequest("bad replica")
	bad.Replicas = []*dbrouterv1.Replica{{Host: h.target.Host, Port: int32(testenv.FreePort(t))}}
	_, err = h.client.CreateDataSource(ctx, bad)
	if code, reason := codeReason(err); code != codes.FailedPrecondition || reason != ReasonDatabaseConnectionFailed {
		t.Errorf("unreachable replica: %v %q, want FailedPrecondition %q", code, reason, ReasonDatabaseConnectionFailed)
	}
}
