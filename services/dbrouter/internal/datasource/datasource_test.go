package datasource

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
)

var storedForm = regexp.MustCompile(`^[0-9a-f]{32}:[0-9a-f]{32}:[0-9a-f]*$`)

func TestCreateTestsLiveAndSavesThePasswordEncrypted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got := e.create(t, "user-a", "  Blog  ")

	now := e.clock.Now()
	want := Connection{
		Name: "Blog", Host: e.target.Host, Port: e.target.Port, Database: e.target.Database, Username: e.user,
		IsActive: true, Status: StatusConnected, LastTested: now, CreatedAt: now, UpdatedAt: now, Version: 1,
		AIEgress: EgressFullText,
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Connection{}, "ID")); diff != "" {
		t.Errorf("Create (-want +got):\n%s", diff)
	}
	if _, err := uuid.Parse(got.ID); err != nil {
		t.Errorf("id %q is not a UUID", got.ID)
	}

	row, err := e.store.Get(ctx, "user-a", got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !storedForm.MatchString(row.Password) {
		t.Errorf("stored password %q is not ivHex:tagHex:cipherHex", row.Password)
	}
	if plain, err := e.cipher.Decrypt(row.Password); err != nil || plain != e.password {
		t.Errorf("stored password decrypts to %q, %v; want the password given", plain, err)
	}
	if diff := cmp.Diff(want, connectionOf(row), cmpopts.IgnoreFields(Connection{}, "ID")); diff != "" {
		t.Errorf("stored row (-want +got):\n%s", diff)
	}
}

func TestCreateDefaultsThePortTo3306(t *testing.T) {
	in := CreateInput{Name: "x", Host: "h", Database: "d", Username: "u"}
	if err := in.validate(); err != nil {
		t.Fatal(err)
	}
	if in.port() != 3306 {
		t.Errorf("port = %d, want 3306", in.port())
	}
}

func TestCreateFailsAndSavesNothingWhenTheSourceDoesNotAnswer(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		modify func(*CreateInput)
	}{
		{"wrong password", func(in *CreateInput) { in.Password = "wrong-password" }},
		{"nothing listening on the port", func(in *CreateInput) { in.Port = ptr(testenv.FreePort(t)) }},
		{"database the user cannot see", func(in *CreateInput) { in.Database = "mysql" }},
		{"unknown database", func(in *CreateInput) { in.Database = "altus_missing_" + testenv.RandomSuffix(6) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := e.input("bad")
			tt.modify(&in)
			_, err := e.svc.Create(context.Background(), "user-a", in)
			if !errors.Is(err, ErrConnectionFailed) {
				t.Fatalf("Create error = %v, want ErrConnectionFailed", err)
			}
			var pub interface{ PublicMessage() string }
			if !errors.As(err, &pub) || pub.PublicMessage() == ErrConnectionFailed.PublicMessage() {
				t.Errorf("error %v carries no specific public message", err)
			}
		})
	}
	list, err := e.svc.List(context.Background(), "user-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("List after failed creates = %d sources, want none", len(list))
	}
}

func violations(err error) []string {
	var ve *validate.Error
	if !errors.As(err, &ve) {
		return nil
	}
	var fields []string
	for _, v := range ve.Violations {
		fields = append(fields, v.Field+":"+v.Code)
	}
	return fields
}

func TestCreateReportsEveryInvalidFieldAtOnce(t *testing.T) {
	e := newEnv(t)
	long := func(n int) string { return string(slices.Repeat([]byte{'a'}, n)) }
	tests := []struct {
		name string
		in   CreateInput
		want []string
	}{
		{"everything missing", CreateInput{Port: ptr(0)},
			[]string{"name:REQUIRED", "host:REQUIRED", "port:OUT_OF_RANGE", "database:REQUIRED", "username:REQUIRED"}},
		{"too long", CreateInput{Name: long(101), Host: long(256), Port: ptr(65536), Database: long(65), Username: long(81), Password: long(1025)},
			[]string{"name:TOO_LONG", "host:TOO_LONG", "port:OUT_OF_RANGE", "database:TOO_LONG", "username:TOO_LONG", "password:TOO_LONG"}},
		{"host with scheme, database not an identifier", CreateInput{Name: "n", Host: "mysql://db", Database: "a-b", Username: "u"},
			[]string{"host:INVALID", "database:INVALID"}},
		{"host with a space", CreateInput{Name: "n", Host: "db example", Database: "d", Username: "u"}, []string{"host:INVALID"}},
		{"host with a port", CreateInput{Name: "n", Host: "db:3306", Database: "d", Username: "u"}, []string{"host:INVALID"}},
		{"host with a path", CreateInput{Name: "n", Host: "db/x", Database: "d", Username: "u"}, []string{"host:INVALID"}},
		{"negative port", CreateInput{Name: "n", Host: "db", Port: ptr(-1), Database: "d", Username: "u"}, []string{"port:OUT_OF_RANGE"}},
		{"name of spaces", CreateInput{Name: "   ", Host: "db", Database: "d", Username: "u"}, []string{"name:REQUIRED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Create(context.Background(), "user-a", tt.in)
			if diff := cmp.Diff(tt.want, violations(err)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
	for _, host := range []string{"db.example.com", "10.0.0.1", "::1", "localhost"} {
		in := CreateInput{Name: "n", Host: host, Database: "d", Username: "u"}
		if err := in.validate(); err != nil {
			t.Errorf("host %q rejected: %v", host, err)
		}
	}
}

func TestListReturnsOnlyTheCallersSourcesNewestFirst(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.create(t, "user-a", "first")
	e.clock.Advance(time.Second)
	second := e.create(t, "user-a", "second")
	e.create(t, "user-b", "not mine")
	e.clock.Advance(time.Second)
	deleted := e.create(t, "user-a", "deleted")
	if err := e.svc.Delete(ctx, "user-a", deleted.ID); err != nil {
		t.Fatal(err)
	}

	got, err := e.svc.List(ctx, "user-a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Connection{second, first}, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	one, err := e.svc.Get(ctx, "user-a", first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, one); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
}

func TestEveryOperationOnAnotherUsersSourceIsNotFound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mine := e.create(t, "owner", "mine")
	deleted := e.create(t, "owner", "gone")
	if err := e.svc.Delete(ctx, "owner", deleted.ID); err != nil {
		t.Fatal(err)
	}
	ops := map[string]func(userID, id string) error{
		"Get":    func(u, id string) error { _, err := e.svc.Get(ctx, u, id); return err },
		"Update": func(u, id string) error { _, err := e.svc.Update(ctx, u, id, UpdateInput{Name: ptr("x")}); return err },
		"Delete": func(u, id string) error { return e.svc.Delete(ctx, u, id) },
		"Test":   func(u, id string) error { _, err := e.svc.Test(ctx, u, id); return err },
		"Schema": func(u, id string) error { _, err := e.svc.Schema(ctx, u, id, false); return err },
		"Open":   func(u, id string) error { _, err := e.svc.Open(ctx, u, id); return err },
		"Acquire": func(u, id string) error {
			c, err := e.svc.Acquire(ctx, u, id)
			if err == nil {
				c.Release()
			}
			return err
		},
	}
	ids := []struct {
		name, user, id string
	}{
		{"another user's source", "intruder", mine.ID},
		{"a deleted source", "owner", deleted.ID},
		{"an unknown id", "owner", uuid.NewString()},
		{"an id that is not a UUID", "owner", "1 OR 1=1"},
		{"no user", "", mine.ID},
	}
	for name, op := range ops {
		for _, id := range ids {
			t.Run(name+"/"+id.name, func(t *testing.T) {
				if err := op(id.user, id.id); !errors.Is(err, ErrNotFound) {
					t.Errorf("error = %v, want ErrNotFound", err)
				}
			})
		}
	}
	// The owner's source is untouched by all of it.
	got, err := e.svc.Get(ctx, "owner", mine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(mine, got); diff != "" {
		t.Errorf("owner's source changed (-want +got):\n%s", diff)
	}
	statuses, err := e.svc.Statuses(ctx, "intruder")
	if err != nil || len(statuses) != 0 {
		t.Errorf("Statuses of another user = %v, %v; want none", statuses, err)
	}
}

func TestUpdateChangesOnlyGivenFieldsRetestsAndRebuildsThePool(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(t, "user-a", "before")
	before, _ := e.store.Get(ctx, "user-a", c.ID)

	// Use the source so that it has a pool and a cached schema.
	conn, err := e.svc.Acquire(ctx, "user-a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	conn.Release()
	oldPool, _ := e.pools.Lookup(c.ID)
	if _, err := e.svc.Schema(ctx, "user-a", c.ID, false); err != nil {
		t.Fatal(err)
	}

	e.clock.Advance(time.Minute)
	got, err := e.svc.Update(ctx, "user-a", c.ID, UpdateInput{Name: ptr("after"), SSL: ptr(false)})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := c
	want.Name, want.Version = "after", 2
	want.UpdatedAt, want.LastTested = e.clock.Now(), e.clock.Now()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Update (-want +got):\n%s", diff)
	}
	after, _ := e.store.Get(ctx, "user-a", c.ID)
	if after.Password != before.Password {
		t.Error("the password changed although none was given")
	}
	if diff := cmp.Diff(want, connectionOf(after)); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if !oldPool.Closed() {
		t.Error("the old pool is still open after the update")
	}
	newPool, ok := e.pools.Lookup(c.ID)
	if !ok || newPool == oldPool || newPool.Key().Version != 2 {
		t.Errorf("pool after update = %v, want a new pool of version 2", newPool.Key())
	}
	for _, k := range e.schemas.Keys() {
		if k.ID == c.ID {
			t.Error("the cached schema survived the update")
		}
	}
	conn, err = e.svc.Acquire(ctx, "user-a", c.ID)
	if err != nil {
		t.Fatalf("Acquire after update: %v", err)
	}
	conn.Release()
}

func TestUpdateWithANewPasswordTestsItAndStoresItEncrypted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(t, "user-a", "src")
	if _, err := e.admin.ExecContext(ctx, "ALTER USER '"+e.user+"'@'%' IDENTIFIED BY 'new-pass-123'"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Update(ctx, "user-a", c.ID, UpdateInput{Password: ptr("new-pass-123")}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	row, _ := e.store.Get(ctx, "user-a", c.ID)
	if plain, err := e.cipher.Decrypt(row.Password); err != nil || plain != "new-pass-123" {
		t.Errorf("stored password = %q, %v; want the new one", plain, err)
	}
}

func TestFailingUpdateLeavesTheStoredSourceAndItsPoolUnchanged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(t, "user-a", "src")
	conn, err := e.svc.Acquire(ctx, "user-a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	conn.Release()
	oldPool, _ := e.pools.Lookup(c.ID)
	before, _ := e.store.Get(ctx, "user-a", c.ID)

	tests := []struct {
		name string
		in   UpdateInput
		want error
	}{
		{"wrong password", UpdateInput{Name: ptr("renamed"), Password: ptr("wrong")}, ErrConnectionFailed},
		{"closed port", UpdateInput{Port: ptr(testenv.FreePort(t))}, ErrConnectionFailed},
		{"other database", UpdateInput{Database: ptr("mysql")}, ErrConnectionFailed},
		{"invalid host", UpdateInput{Name: ptr("renamed"), Host: ptr("http://x")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Update(ctx, "user-a", c.ID, tt.in)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Update error = %v, want %v", err, tt.want)
			}
			if tt.want == nil && violations(err) == nil {
				t.Fatalf("Update error = %v, want a validation error", err)
			}
			after, _ := e.store.Get(ctx, "user-a", c.ID)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("stored row changed (-before +after):\n%s", diff)
			}
			if p, _ := e.pools.Lookup(c.ID); p != oldPool || oldPool.Closed() {
				t.Error("the pool was replaced by a failed update")
			}
		})
	}
}

func TestDeleteClosesThePoolAtOnceAndLaterCallsAreNotFound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(t, "user-a", "src")
	inFlight, err := e.svc.Acquire(ctx, "user-a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := e.pools.Lookup(c.ID)

	if err := e.svc.Delete(ctx, "user-a", c.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if !p.Closed() {
		t.Error("the pool is still open after Delete")
	}
	if _, err := p.Acquire(ctx); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("Acquire on the deleted source's pool = %v, want ErrClosed", err)
	}
	// The statement in flight finishes on its connection.
	var n int
	if err := inFlight.QueryRowContext(ctx, "SELECT COUNT(*) FROM articles").Scan(&n); err != nil || n != 1 {
		t.Errorf("in-flight query = %d, %v; want it to complete", n, err)
	}
	inFlight.Release()
	<-p.Done()

	if _, err := e.svc.Get(ctx, "user-a", c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
	if err := e.svc.Delete(ctx, "user-a", c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	var deletedAt *time.Time
	var active bool
	if err := e.meta.QueryRowContext(ctx, "SELECT deleted_at, is_active FROM data_sources WHERE id = ?", c.ID).Scan(&deletedAt, &active); err != nil {
		t.Fatal(err)
	}
	if deletedAt == nil || active {
		t.Errorf("row after Delete: deleted_at %v, is_active %v; want a soft delete", deletedAt, active)
	}
}

func TestTestReportsTheServerAndRecordsTheStatus(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(t, "user-a", "src")
	e.clock.Advance(time.Hour)

	got, err := e.svc.Test(ctx, "user-a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Connected || got.ServerVersion == "" || got.Latency <= 0 || got.Message == "" {
		t.Errorf("Test = %+v, want connected with a version and latency", got)
	}
	row, _ := e.store.Get(ctx, "user-a", c.ID)
	if row.Status != StatusConnected || !row.LastTested.Equal(e.clock.Now()) {
		t.Errorf("status %q tested %v, want connected now", row.Status, row.LastTested)
	}

	if _, err := e.admin.ExecContext(ctx, "DROP USER '"+e.user+"'@'%'"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	got, err = e.svc.Test(ctx, "user-a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Connected || got.Message == "" || got.ServerVersion != "" {
		t.Errorf("Test after the user was dropped = %+v, want not connected with a message", got)
	}
	row, _ = e.store.Get(ctx, "user-a", c.ID)
	if row.Status != StatusFailed || !row.LastTested.Equal(e.clock.Now()) {
		t.Errorf("status %q tested %v, want failed now", row.Status, row.LastTested)
	}
	if row.Version != c.Version {
		t.Error("a test changed the source's version")
	}
}

func TestStatusesPingsEverySourceAndRecordsTheOutcome(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	up := e.create(t, "user-a", "up")
	otherUser, otherPass := createUser(t, e.admin, e.target.Database)
	in := e.input("down")
	in.Username, in.Password = otherUser, otherPass
	down, err := e.svc.Create(ctx, "user-a", in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.ExecContext(ctx, "DROP USER '"+otherUser+"'@'%'"); err != nil {
		t.Fatal(err)
	}

	got, err := e.svc.Statuses(ctx, "user-a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{up.ID: true, down.ID: false}, got); diff != "" {
		t.Errorf("Statuses (-want +got):\n%s", diff)
	}
	for id, want := range map[string]string{up.ID: StatusConnected, down.ID: StatusFailed} {
		row, _ := e.store.Get(ctx, "user-a", id)
		if row.Status != want {
			t.Errorf("status of %s = %q, want %q", id, row.Status, want)
		}
	}
}

func TestSchemaDiscoversTheSourcesTablesAndFullTextIndexes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(t, "user-a", "src")
	got, err := e.svc.Schema(ctx, "user-a", c.ID, false)
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	var names []string
	for _, tb := range got.Tables {
		names = append(names, tb.Name)
	}
	if diff := cmp.Diff([]string{"articles", "ledger", "post_tags"}, names); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	articles, _ := got.Table("articles")
	wantFT := []schema.FullTextIndex{{Name: "ft_title", Columns: []string{"title"}}, {Name: "ft_title_body", Columns: []string{"title", "body"}}}
	if diff := cmp.Diff(wantFT, articles.FullTextIndexes); diff != "" {
		t.Errorf("articles FULLTEXT (-want +got):\n%s", diff)
	}
	tags, _ := got.Table("post_tags")
	if diff := cmp.Diff([]string{"post_id", "tag"}, tags.PrimaryKey); diff != "" {
		t.Errorf("post_tags primary key (-want +got):\n%s", diff)
	}
	ledger, _ := got.Table("ledger")
	if len(ledger.FullTextIndexes) != 0 {
		t.Errorf("ledger FULLTEXT = %v, want none", ledger.FullTextIndexes)
	}
	if memo, _ := ledger.Column("memo"); !memo.IsSearchable || memo.IsFullTextIndexed {
		t.Errorf("ledger.memo = %+v, want searchable and not indexed", memo)
	}
	if !got.DiscoveredAt.Equal(e.clock.Now()) || got.Fingerprint == "" {
		t.Errorf("DiscoveredAt %v fingerprint %q", got.DiscoveredAt, got.Fingerprint)
	}
}

func tableNames(s schema.Schema) []string {
	var out []string
	for _, t := range s.Tables {
		out = append(out, t.Name)
	}
	return out
}

func TestSchemaIsCachedUntilRefreshOrTTL(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(t, "user-a", "src")
	first, err := e.svc.Schema(ctx, "user-a", c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.ExecContext(ctx, "CREATE TABLE later_one (id INT PRIMARY KEY, note TEXT, FULLTEXT(note))"); err != nil {
		t.Fatal(err)
	}

	e.clock.Advance(4 * time.Minute)
	cached, err := e.svc.Schema(ctx, "user-a", c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, cached); diff != "" {
		t.Errorf("Schema within the TTL was re-read (-first +got):\n%s", diff)
	}

	refreshed, err := e.svc.Schema(ctx, "user-a", c.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tableNames(refreshed), "later_one") || refreshed.Fingerprint == first.Fingerprint {
		t.Errorf("refresh=true tables = %v, want later_one and a new fingerprint", tableNames(refreshed))
	}

	if _, err := e.admin.ExecContext(ctx, "CREATE TABLE later_two (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(6 * time.Minute) // past the TTL of the refreshed entry
	stale, err := e.svc.Schema(ctx, "user-a", c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(tableNames(stale), "later_two") {
		t.Error("the first read past the TTL waited for the re-read instead of serving the stale entry")
	}
	e.schemas.Wait()
	fresh, err := e.svc.Schema(ctx, "user-a", c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tableNames(fresh), "later_two") {
		t.Errorf("tables after the background refresh = %v, want later_two", tableNames(fresh))
	}
}

func TestSweepClosesPoolsOfSourcesChangedOrDeletedOnAnotherReplica(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	changed := e.create(t, "user-a", "changed")
	deleted := e.create(t, "user-a", "deleted")
	kept := e.create(t, "user-a", "kept")

	// This replica (e.svc) uses all three.
	for _, c := range []Connection{changed, deleted, kept} {
		conn, err := e.svc.Acquire(ctx, "user-a", c.ID)
		if err != nil {
			t.Fatal(err)
		}
		conn.Release()
	}
	// Another replica, with its own pools, changes one and deletes one.
	otherPools := pool.NewManager(pool.Options{ReapInterval: -1})
	t.Cleanup(func() { _ = otherPools.Close(context.Background()) })
	other := e.newReplica(t, otherPools)
	if _, err := other.Update(ctx, "user-a", changed.ID, UpdateInput{Name: ptr("renamed")}); err != nil {
		t.Fatal(err)
	}
	if err := other.Delete(ctx, "user-a", deleted.ID); err != nil {
		t.Fatal(err)
	}

	if err := e.svc.Sweep(ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if diff := cmp.Diff([]pool.Key{{ID: kept.ID, Version: 1}}, e.pools.Keys()); diff != "" {
		t.Errorf("pools after the sweep (-want +got):\n%s", diff)
	}
	// The changed source gets a pool of its new version on next use.
	conn, err := e.svc.Acquire(ctx, "user-a", changed.ID)
	if err != nil {
		t.Fatal(err)
	}
	conn.Release()
	if p, _ := e.pools.Lookup(changed.ID); p.Key().Version != 2 {
		t.Errorf("pool version after use = %d, want 2", p.Key().Version)
	}
}

func TestAcquireReturnsAConnectionToTheUsersDatabase(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(t, "user-a", "src")
	conn, err := e.svc.Acquire(ctx, "user-a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var title string
	if err := conn.QueryRowContext(ctx, "SELECT title FROM articles WHERE MATCH(title, body) AGAINST (?)", "MariaDB").Scan(&title); err != nil {
		t.Fatalf("query: %v", err)
	}
	if title != "Hello MariaDB" {
		t.Errorf("title = %q", title)
	}
}

func TestStoredPasswordThatNoLongerDecryptsIsAConnectionFailure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(t, "user-a", "src")
	if _, err := e.meta.ExecContext(ctx, "UPDATE data_sources SET password = ? WHERE id = ?", "00:00:00", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Schema(ctx, "user-a", c.ID, false); !errors.Is(err, ErrConnectionFailed) {
		t.Errorf("Schema = %v, want ErrConnectionFailed", err)
	}
	if _, err := e.svc.Update(ctx, "user-a", c.ID, UpdateInput{Name: ptr("x")}); !errors.Is(err, ErrConnectionFailed) {
		t.Errorf("Update without a password = %v, want ErrConnectionFailed", err)
	}
	if _, err := e.svc.Update(ctx, "user-a", c.ID, UpdateInput{Password: ptr(e.password)}); err != nil {
		t.Errorf("Update with the password = %v, want it to repair the source", err)
	}
	if _, err := e.svc.Schema(ctx, "user-a", c.ID, false); err != nil {
		t.Errorf("Schema after repair = %v", err)
	}
}

// A source read for searches is reused for LookupTTL: the replica that
// deletes it forgets it at once, another replica within the TTL.
func TestSearchLookupsAreForgottenOnDeleteAndExpireElsewhere(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	withTTL := func() *Service {
		svc, err := New(Options{Store: e.store, Cipher: e.cipher, Pools: e.pools, Schemas: e.schemas, Now: e.clock.Now, LookupTTL: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	here, there := withTTL(), withTTL()
	c, err := here.Create(ctx, "user-a", e.input("src"))
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*Service{here, there} {
		if _, _, err := svc.OpenSearch(ctx, "user-a", c.ID); err != nil {
			t.Fatalf("OpenSearch: %v", err)
		}
	}
	if err := here.Delete(ctx, "user-a", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := here.OpenSearch(ctx, "user-a", c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the deleting replica still opens the source: %v", err)
	}
	if _, _, err := there.OpenSearch(ctx, "user-b", c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another user opened the source through a remembered lookup: %v", err)
	}
	e.clock.Advance(1100 * time.Millisecond)
	if _, _, err := there.OpenSearch(ctx, "user-a", c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another replica still opens the deleted source after the TTL: %v", err)
	}
}
