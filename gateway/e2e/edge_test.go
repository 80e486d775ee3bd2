package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The edge's own behaviour: envelope, request ids, JSON errors, CORS, health,
// OpenAPI and metrics.
func TestEdge(t *testing.T) {
	s := StartSuite(t, nil)

	t.Run("health reports every dependency", func(t *testing.T) {
		resp, err := s.HTTP.Get(s.URL + "/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h struct {
			Status       string            `json:"status"`
			Version      string            `json:"version"`
			Uptime       float64           `json:"uptime"`
			Env          string            `json:"env"`
			Dependencies map[string]string `json:"dependencies"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || h.Status != "ok" || h.Env != "test" || h.Version == "" {
			t.Fatalf("health = %d %+v", resp.StatusCode, h)
		}
		for _, dep := range []string{"account", "dbrouter", "search", "cache", "enhance", "redis"} {
			if h.Dependencies[dep] != "ok" {
				t.Errorf("dependency %s = %q", dep, h.Dependencies[dep])
			}
		}
	})

	t.Run("management health is enveloped", func(t *testing.T) {
		r := s.Call(t, http.MethodGet, "/api/v1/management/health", "", nil)
		Expect(t, r, http.StatusOK, "")
		var d struct {
			AuthenticationMethods []string `json:"authenticationMethods"`
		}
		r.Decode(t, &d)
		if strings.Join(d.AuthenticationMethods, ",") != "jwt,api-key" {
			t.Fatalf("authenticationMethods = %v", d.AuthenticationMethods)
		}
	})

	t.Run("unknown route is a JSON 404", func(t *testing.T) {
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/nothing-here", "", nil), http.StatusNotFound, "NOT_FOUND")
	})

	t.Run("wrong method is a JSON 405", func(t *testing.T) {
		Expect(t, s.Call(t, http.MethodPatch, "/api/v1/keys", "", nil), http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
	})

	t.Run("malformed JSON is INVALID_JSON", func(t *testing.T) {
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/auth/login", "", `{"email": "a@b.c",`), http.StatusBadRequest, "INVALID_JSON")
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/auth/login", "", `["not", "an", "object"]`), http.StatusBadRequest, "INVALID_JSON")
	})

	t.Run("a value of the wrong type is a validation error naming the field", func(t *testing.T) {
		r := s.Call(t, http.MethodPost, "/api/v1/auth/login", "", `{"email": 5, "password": "x"}`)
		Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
		var details []struct{ Field string }
		_ = json.Unmarshal(r.Error.Details, &details)
		if len(details) != 1 || details[0].Field != "email" {
			t.Fatalf("details = %s", r.Error.Details)
		}
	})

	t.Run("a sane client request id is echoed, an unsafe one replaced", func(t *testing.T) {
		r := s.Call(t, http.MethodGet, "/api/v1/nothing", "", nil, "X-Request-ID", "client-req-123")
		if r.Header.Get("X-Request-ID") != "client-req-123" || r.Meta.RequestID != "client-req-123" {
			t.Fatalf("request id header %q meta %q", r.Header.Get("X-Request-ID"), r.Meta.RequestID)
		}
		r = s.Call(t, http.MethodGet, "/api/v1/nothing", "", nil, "X-Request-ID", "bad id <script>")
		if r.Meta.RequestID == "bad id <script>" || r.Meta.RequestID == "" {
			t.Fatalf("unsafe request id kept: %q", r.Meta.RequestID)
		}
	})

	t.Run("CORS allows only the configured origins", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, s.URL+"/api/v1/auth/login", nil)
		req.Header.Set("Origin", "http://app.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "http://app.example" {
			t.Fatalf("allowed origin = %q", got)
		}
		req.Header.Set("Origin", "http://evil.example")
		resp, err = s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Fatalf("foreign origin allowed: %q", got)
		}
	})

	t.Run("OpenAPI document is served", func(t *testing.T) {
		resp, err := s.HTTP.Get(s.URL + "/api/v1/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc struct {
			Swagger string                    `json:"swagger"`
			Paths   map[string]map[string]any `json:"paths"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.Swagger != "2.0" || doc.Paths["/api/v1/auth/login"] == nil {
			t.Fatalf("openapi: %v %+v", err, doc.Swagger)
		}
	})

	t.Run("request durations are exported by route template", func(t *testing.T) {
		s.Call(t, http.MethodGet, "/api/v1/keys/some-id/usage", "", nil)
		resp, err := s.HTTP.Get("http://127.0.0.1:" + s.AdminPort("gateway") + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := `altus4_request_duration_seconds_bucket{method="GET",route="/api/v1/keys/{key_id}/usage",status_code="401",le="0.1"}`
		if !strings.Contains(string(b), want) {
			t.Fatalf("metrics lack %s", want)
		}
		if strings.Contains(string(b), "some-id") {
			t.Fatal("a raw path reached a metric label")
		}
		if !strings.Contains(string(b), "go_goroutines") {
			t.Fatal("Go runtime metrics missing")
		}
	})
}
