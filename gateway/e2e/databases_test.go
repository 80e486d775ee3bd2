package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/pkg/testenv"
)

var v1Ciphertext = regexp.MustCompile(`^[0-9a-f]{32}:[0-9a-f]{32}:[0-9a-f]+$`)

type tableSchema struct {
	Database string `json:"database"`
	Table    string `json:"table"`
	Columns  []struct {
		Name              string `json:"name"`
		Type              string `json:"type"`
		IsFullTextIndexed bool   `json:"isFullTextIndexed"`
		IsSearchable      bool   `json:"isSearchable"`
	} `json:"columns"`
	FullTextIndexes []struct {
		Name    string   `json:"name"`
		Columns []string `json:"columns"`
		Type    string   `json:"type"`
	} `json:"fullTextIndexes"`
	EstimatedRows int    `json:"estimatedRows"`
	LastAnalyzed  string `json:"lastAnalyzed"`
}

func TestDatabases(t *testing.T) {
	s := StartSuite(t, nil)
	tenant := TenantDatabase(t)
	server := testenv.ServerConfig()

	t.Run("create tests the connection live", func(t *testing.T) {
		u := s.Register(t)
		r := s.Call(t, http.MethodPost, "/api/v1/databases", u.Token, map[string]any{
			"name": "wrong password", "host": server.Host, "port": server.Port, "database": tenant.Database,
			"username": tenant.User, "password": "not the password",
		})
		Expect(t, r, http.StatusBadRequest, "DATABASE_CONNECTION_FAILED")
		r = s.Call(t, http.MethodPost, "/api/v1/databases", u.Token, map[string]any{
			"name": "closed port", "host": "127.0.0.1", "port": testenv.FreePort(t), "database": tenant.Database, "username": tenant.User, "password": tenant.Password,
		})
		Expect(t, r, http.StatusBadRequest, "DATABASE_CONNECTION_FAILED")
		var list []Connection
		s.Call(t, http.MethodGet, "/api/v1/databases", u.Token, nil).Decode(t, &list)
		if len(list) != 0 {
			t.Fatalf("failed connections were saved: %+v", list)
		}
	})

	t.Run("create validates every field", func(t *testing.T) {
		u := s.Register(t)
		r := s.Call(t, http.MethodPost, "/api/v1/databases", u.Token, map[string]any{"name": "", "host": "", "port": 70000, "database": "", "username": ""})
		Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
		if diff := cmp.Diff([]string{"database", "host", "name", "port", "username"}, detailFields(t, r)); diff != "" {
			t.Fatalf("fields (-want +got):\n%s", diff)
		}
	})

	t.Run("a saved source is listed, tested, described and shows in the profile", func(t *testing.T) {
		u := s.Register(t)
		c := s.AddDatabase(t, u, "blog", tenant)
		if c.ID == "" || c.Database != tenant.Database || c.Port != server.Port || !c.IsActive {
			t.Fatalf("connection = %+v", c)
		}
		var list []Connection
		s.Call(t, http.MethodGet, "/api/v1/databases", u.Token, nil).Decode(t, &list)
		if len(list) != 1 || list[0].ID != c.ID {
			t.Fatalf("list = %+v", list)
		}
		var got Connection
		s.Call(t, http.MethodGet, "/api/v1/databases/"+c.ID, u.Token, nil).Decode(t, &got)
		if got.ID != c.ID || got.Name != "blog" {
			t.Fatalf("get = %+v", got)
		}
		var statuses map[string]bool
		s.Call(t, http.MethodGet, "/api/v1/databases/status", u.Token, nil).Decode(t, &statuses)
		if diff := cmp.Diff(map[string]bool{c.ID: true}, statuses); diff != "" {
			t.Fatalf("status: %s", diff)
		}
		var test struct {
			Connected bool   `json:"connected"`
			Message   string `json:"message"`
		}
		r := s.Call(t, http.MethodPost, "/api/v1/databases/"+c.ID+"/test", u.Token, nil)
		Expect(t, r, http.StatusOK, "")
		r.Decode(t, &test)
		if !test.Connected {
			t.Fatalf("test = %+v", test)
		}
		var schema []tableSchema
		r = s.Call(t, http.MethodGet, "/api/v1/databases/"+c.ID+"/schema", u.Token, nil)
		Expect(t, r, http.StatusOK, "")
		r.Decode(t, &schema)
		byName := map[string]tableSchema{}
		for _, ts := range schema {
			byName[ts.Table] = ts
		}
		articles, ok := byName["articles"]
		if !ok || len(schema) != 2 {
			t.Fatalf("schema tables = %+v", schema)
		}
		indexes := map[string][]string{}
		for _, ix := range articles.FullTextIndexes {
			indexes[ix.Name] = ix.Columns
		}
		if diff := cmp.Diff(map[string][]string{"ft_title_body": {"title", "body"}, "ft_title": {"title"}}, indexes); diff != "" {
			t.Fatalf("FULLTEXT indexes (-want +got):\n%s", diff)
		}
		if len(byName["notes"].FullTextIndexes) != 0 {
			t.Fatalf("notes has no FULLTEXT index: %+v", byName["notes"])
		}
		var profile User
		s.Call(t, http.MethodGet, "/api/v1/auth/profile", u.Token, nil).Decode(t, &profile)
		if diff := cmp.Diff([]string{c.ID}, profile.Conns); diff != "" {
			t.Fatalf("connectedDatabases: %s", diff)
		}
	})

	t.Run("update re-tests and keeps the old settings when the test fails", func(t *testing.T) {
		u := s.Register(t)
		c := s.AddDatabase(t, u, "to update", tenant)
		Expect(t, s.Call(t, http.MethodPut, "/api/v1/databases/"+c.ID, u.Token, map[string]any{"password": "not the password"}), http.StatusBadRequest, "DATABASE_CONNECTION_FAILED")
		var got Connection
		s.Call(t, http.MethodGet, "/api/v1/databases/"+c.ID, u.Token, nil).Decode(t, &got)
		var before struct {
			Connected bool `json:"connected"`
		}
		s.Call(t, http.MethodPost, "/api/v1/databases/"+c.ID+"/test", u.Token, nil).Decode(t, &before)
		if !before.Connected {
			t.Fatal("a failed update replaced the stored password")
		}
		r := s.Call(t, http.MethodPut, "/api/v1/databases/"+c.ID, u.Token, map[string]any{"name": "renamed"})
		Expect(t, r, http.StatusOK, "")
		r.Decode(t, &got)
		if got.Name != "renamed" || got.Database != tenant.Database {
			t.Fatalf("updated = %+v", got)
		}
		var test struct {
			Connected bool `json:"connected"`
		}
		s.Call(t, http.MethodPost, "/api/v1/databases/"+c.ID+"/test", u.Token, nil).Decode(t, &test)
		if !test.Connected {
			t.Fatal("the source does not connect after an update")
		}
	})

	t.Run("delete removes the source", func(t *testing.T) {
		u := s.Register(t)
		c := s.AddDatabase(t, u, "to delete", tenant)
		r := s.Call(t, http.MethodDelete, "/api/v1/databases/"+c.ID, u.Token, nil)
		Expect(t, r, http.StatusOK, "")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/databases/"+c.ID, u.Token, nil), http.StatusNotFound, "CONNECTION_NOT_FOUND")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/databases/"+c.ID+"/schema", u.Token, nil), http.StatusNotFound, "CONNECTION_NOT_FOUND")
	})

	t.Run("another user's source is not found on every route", func(t *testing.T) {
		owner := s.Register(t)
		intruder := s.Register(t)
		c := s.AddDatabase(t, owner, "private", tenant)
		routes := []struct{ method, path string }{
			{http.MethodGet, "/api/v1/databases/" + c.ID},
			{http.MethodPut, "/api/v1/databases/" + c.ID},
			{http.MethodDelete, "/api/v1/databases/" + c.ID},
			{http.MethodPost, "/api/v1/databases/" + c.ID + "/test"},
			{http.MethodGet, "/api/v1/databases/" + c.ID + "/schema"},
		}
		for _, rt := range routes {
			var body any
			if rt.method == http.MethodPut {
				body = map[string]any{"name": "hijacked"}
			}
			Expect(t, s.Call(t, rt.method, rt.path, intruder.Token, body), http.StatusNotFound, "CONNECTION_NOT_FOUND")
		}
		var statuses map[string]bool
		s.Call(t, http.MethodGet, "/api/v1/databases/status", intruder.Token, nil).Decode(t, &statuses)
		if len(statuses) != 0 {
			t.Fatalf("intruder sees statuses %v", statuses)
		}
		var got Connection
		s.Call(t, http.MethodGet, "/api/v1/databases/"+c.ID, owner.Token, nil).Decode(t, &got)
		if got.Name != "private" {
			t.Fatalf("the intruder changed the source: %+v", got)
		}
	})

	t.Run("the password is never returned and is stored encrypted", func(t *testing.T) {
		u := s.Register(t)
		c := s.AddDatabase(t, u, "secretive", tenant)
		for _, path := range []string{"/api/v1/databases", "/api/v1/databases/" + c.ID, "/api/v1/databases/" + c.ID + "/schema"} {
			if strings.Contains(string(s.Call(t, http.MethodGet, path, u.Token, nil).Raw), tenant.Password) {
				t.Fatalf("%s shows the password", path)
			}
		}
		var stored string
		if err := s.DB.QueryRow("SELECT password FROM data_sources WHERE id = ?", c.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, tenant.Password) || !v1Ciphertext.MatchString(stored) {
			t.Fatalf("stored password %q is not in the v1 iv:tag:cipher form", stored)
		}
	})
}
