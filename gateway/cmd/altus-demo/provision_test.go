package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeAPI is an in-memory stand-in for the routes provisioning calls, with
// the v1 envelope and status codes.
type fakeAPI struct {
	mu        sync.Mutex
	password  string // of the one user, once registered
	tokens    map[string]bool
	conns     []connection
	connected map[string]bool // per connection id: does its test connect
	puts      []string        // connection ids updated
	keys      []apiKey
	secrets   map[string]string // key id -> secret
	calls     []string          // "METHOD path"
	n         int
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{tokens: map[string]bool{}, connected: map[string]bool{}, secrets: map[string]string{}}
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	ok := func(status int, data any) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "data": data})
	}
	fail := func(status int, code string) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error": map[string]any{"code": code, "message": code}})
	}
	newToken := func() string {
		f.n++
		t := fmt.Sprintf("token-%d", f.n)
		f.tokens[t] = true
		return t
	}
	path := r.URL.Path
	switch {
	case path == "/api/v1/auth/register":
		if f.password != "" {
			fail(http.StatusConflict, "USER_ALREADY_EXISTS")
			return
		}
		f.password = body["password"].(string)
		ok(http.StatusCreated, map[string]any{"token": newToken()})
		return
	case path == "/api/v1/auth/login":
		if f.password == "" || body["password"] != f.password {
			fail(http.StatusUnauthorized, "AUTHENTICATION_FAILED")
			return
		}
		ok(http.StatusOK, map[string]any{"token": newToken()})
		return
	}
	if !f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] {
		fail(http.StatusUnauthorized, "INVALID_TOKEN")
		return
	}
	switch {
	case path == "/api/v1/auth/profile":
		ok(http.StatusOK, map[string]any{"email": "demo@altus.local"})
	case path == "/api/v1/databases" && r.Method == http.MethodGet:
		ok(http.StatusOK, f.conns)
	case path == "/api/v1/databases" && r.Method == http.MethodPost:
		f.n++
		c := connection{ID: fmt.Sprintf("conn-%d", f.n), Name: body["name"].(string), Host: body["host"].(string),
			Port: int(body["port"].(float64)), Database: body["database"].(string), Username: body["username"].(string), IsActive: true}
		f.conns = append(f.conns, c)
		f.connected[c.ID] = true
		ok(http.StatusCreated, c)
	case strings.HasSuffix(path, "/test"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/api/v1/databases/"), "/test")
		ok(http.StatusOK, map[string]any{"connected": f.connected[id]})
	case strings.HasPrefix(path, "/api/v1/databases/") && r.Method == http.MethodPut:
		id := strings.TrimPrefix(path, "/api/v1/databases/")
		f.puts = append(f.puts, id)
		f.connected[id] = true
		ok(http.StatusOK, map[string]any{"id": id})
	case path == "/api/v1/keys" && r.Method == http.MethodGet:
		ok(http.StatusOK, map[string]any{"apiKeys": f.keys, "total": len(f.keys)})
	case path == "/api/v1/keys" && r.Method == http.MethodPost:
		f.n++
		secret := fmt.Sprintf("altus4_sk_test_%048d", f.n)
		perms := []string{}
		for _, p := range body["permissions"].([]any) {
			perms = append(perms, p.(string))
		}
		k := apiKey{ID: fmt.Sprintf("key-%d", f.n), Name: body["name"].(string), KeyPrefix: secret[:30],
			Permissions: perms, Tier: body["rateLimitTier"].(string), IsActive: true}
		f.keys = append(f.keys, k)
		f.secrets[k.ID] = secret
		ok(http.StatusCreated, map[string]any{"apiKey": k, "secretKey": secret})
	case strings.HasPrefix(path, "/api/v1/keys/") && r.Method == http.MethodDelete:
		id := strings.TrimPrefix(path, "/api/v1/keys/")
		for i := range f.keys {
			if f.keys[i].ID == id {
				f.keys[i].IsActive = false
			}
		}
		ok(http.StatusOK, map[string]any{})
	default:
		fail(http.StatusNotFound, "NOT_FOUND")
	}
}

func (f *fakeAPI) activeKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, k := range f.keys {
		if k.IsActive {
			out = append(out, f.secrets[k.ID])
		}
	}
	return out
}

func demoOptions(url, out string) provisionOptions {
	return provisionOptions{
		URL: url, GRPCAddr: "127.0.0.1:50051", Email: "demo@altus.local", Password: "pw-123456", UserName: "Altus Demo",
		DBHost: "127.0.0.1", DBPort: 3306, ReaderUser: "altus_demo", ReaderPassword: "reader-pw",
		Sources: []source{{Name: "Debian packages", Database: "altus_demo_packages", Env: "PACKAGES"},
			{Name: "Debian changelogs", Database: "altus_demo_changelogs", Env: "CHANGELOGS"}},
		Keys: 1, KeyName: "demo", Permissions: []string{"search", "analytics"}, Tier: "free", Out: out,
	}
}

func TestProvisionRegistersEverythingOnceAndReusesItAfterwards(t *testing.T) {
	api := newFakeAPI()
	srv := httptest.NewServer(api)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "demo.env")
	o := demoOptions(srv.URL, out)
	ctx := context.Background()

	env, err := provision(ctx, o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	keys := api.activeKeys()
	want := map[string]string{
		"ALTUS_DEMO_URL": srv.URL, "ALTUS_DEMO_GRPC_ADDR": "127.0.0.1:50051", "ALTUS_DEMO_EMAIL": "demo@altus.local",
		"ALTUS_DEMO_TOKEN": "token-1", "ALTUS_DEMO_API_KEY": strings.Join(keys, ","),
		"ALTUS_DEMO_PACKAGES_ID": "conn-2", "ALTUS_DEMO_CHANGELOGS_ID": "conn-3",
		"ALTUS_DEMO_PACKAGES_DSN":   "altus_demo:reader-pw@tcp(127.0.0.1:3306)/altus_demo_packages",
		"ALTUS_DEMO_CHANGELOGS_DSN": "altus_demo:reader-pw@tcp(127.0.0.1:3306)/altus_demo_changelogs",
	}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, readEnvFile(out)); diff != "" {
		t.Errorf("env file (-want +got):\n%s", diff)
	}
	if len(keys) != 1 {
		t.Fatalf("%d active keys after the first run, want 1", len(keys))
	}

	// Second run: the stored session, sources and key still work; nothing new.
	api.calls = nil
	env2, err := provision(ctx, o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(env, env2); diff != "" {
		t.Errorf("second run changed the env (-first +second):\n%s", diff)
	}
	for _, c := range api.calls {
		if c == "POST /api/v1/auth/login" || c == "POST /api/v1/auth/register" || c == "POST /api/v1/databases" || c == "POST /api/v1/keys" {
			t.Errorf("second run called %s", c)
		}
	}
}

func TestProvisionRepairsWhatStoppedWorking(t *testing.T) {
	api := newFakeAPI()
	srv := httptest.NewServer(api)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "demo.env")
	o := demoOptions(srv.URL, out)
	ctx := context.Background()
	first, err := provision(ctx, o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}

	// The session is revoked, the packages source stopped connecting (the
	// read-only password changed) and the key was revoked.
	api.mu.Lock()
	api.tokens = map[string]bool{}
	api.connected["conn-2"] = false
	api.keys[0].IsActive = false
	api.mu.Unlock()

	second, err := provision(ctx, o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if second["ALTUS_DEMO_TOKEN"] == first["ALTUS_DEMO_TOKEN"] {
		t.Error("a revoked session was kept")
	}
	if diff := cmp.Diff([]string{"conn-2"}, api.puts); diff != "" {
		t.Errorf("sources updated (-want +got):\n%s", diff)
	}
	if second["ALTUS_DEMO_PACKAGES_ID"] != "conn-2" {
		t.Errorf("packages source id %q, want the existing conn-2", second["ALTUS_DEMO_PACKAGES_ID"])
	}
	active := api.activeKeys()
	if len(active) != 1 || second["ALTUS_DEMO_API_KEY"] != active[0] || active[0] == first["ALTUS_DEMO_API_KEY"] {
		t.Errorf("keys: active %v, env %q, first %q: want one new active key in the env", active, second["ALTUS_DEMO_API_KEY"], first["ALTUS_DEMO_API_KEY"])
	}

	// More keys wanted: the working one is kept first.
	o.Keys = 3
	third, err := provision(ctx, o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(third["ALTUS_DEMO_API_KEY"], ",")
	if len(got) != 3 || got[0] != active[0] {
		t.Errorf("keys %v: want 3, the kept one first", got)
	}
	if diff := cmp.Diff(got, api.activeKeys()); diff != "" {
		t.Errorf("active keys are not exactly the env's (-env +active):\n%s", diff)
	}
}

func TestProvisionRevokesActiveKeysOfTheNameItDoesNotHold(t *testing.T) {
	api := newFakeAPI()
	srv := httptest.NewServer(api)
	defer srv.Close()
	dir := t.TempDir()
	o := demoOptions(srv.URL, filepath.Join(dir, "a.env"))
	if _, err := provision(context.Background(), o, io.Discard); err != nil {
		t.Fatal(err)
	}
	// Another env file (e.g. .run/ deleted): the first key is unknown to it.
	o.Out = filepath.Join(dir, "b.env")
	env, err := provision(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{env["ALTUS_DEMO_API_KEY"]}, api.activeKeys()); diff != "" {
		t.Errorf("active keys (-want +got):\n%s", diff)
	}
}

func TestProvisionExistingUserWithAnotherPasswordFails(t *testing.T) {
	api := newFakeAPI()
	api.password = "someone-elses"
	srv := httptest.NewServer(api)
	defer srv.Close()
	_, err := provision(context.Background(), demoOptions(srv.URL, filepath.Join(t.TempDir(), "demo.env")), io.Discard)
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code != "AUTHENTICATION_FAILED" {
		t.Errorf("err = %v, want the login's AUTHENTICATION_FAILED", err)
	}
}
