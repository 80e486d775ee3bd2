package e2e

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var keyFormat = regexp.MustCompile(`^altus4_sk_(test|live)_[0-9a-f]{48}$`)

func TestAPIKeys(t *testing.T) {
	s := StartSuite(t, nil)

	t.Run("setup creates the first key once", func(t *testing.T) {
		u := s.Register(t)
		r := s.Call(t, http.MethodPost, "/api/v1/management/setup", u.Token, nil)
		Expect(t, r, http.StatusCreated, "")
		var d keyData
		r.Decode(t, &d)
		if d.APIKey.Name != "Initial API Key" || d.APIKey.Environment != "test" || d.APIKey.RateLimitTier != "free" {
			t.Fatalf("initial key = %+v", d.APIKey)
		}
		if diff := cmp.Diff([]string{"search", "admin"}, d.APIKey.Permissions); diff != "" {
			t.Fatalf("permissions: %s", diff)
		}
		if !keyFormat.MatchString(d.SecretKey) || d.SecretKey[:30] != d.APIKey.KeyPrefix || d.Warning == "" {
			t.Fatalf("secret %q prefix %q", d.SecretKey, d.APIKey.KeyPrefix)
		}
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/management/setup", u.Token, nil), http.StatusBadRequest, "SETUP_ALREADY_COMPLETED")
	})

	t.Run("create applies the v1 defaults", func(t *testing.T) {
		u := s.Register(t)
		k, secret := s.CreateKey(t, u, map[string]any{"name": "default key"})
		if k.Environment != "test" || k.RateLimitTier != "free" || strings.Join(k.Permissions, ",") != "search" || !k.IsActive {
			t.Fatalf("key = %+v", k)
		}
		if !strings.HasPrefix(secret, "altus4_sk_test_") || len(secret) != 63 {
			t.Fatalf("secret = %q", secret)
		}
		live, liveSecret := s.CreateKey(t, u, map[string]any{"name": "live key", "environment": "live", "permissions": []string{"search", "analytics"}})
		if live.Environment != "live" || !strings.HasPrefix(liveSecret, "altus4_sk_live_") {
			t.Fatalf("live key = %+v %q", live, liveSecret)
		}
	})

	t.Run("create validates every field", func(t *testing.T) {
		u := s.Register(t)
		r := s.Call(t, http.MethodPost, "/api/v1/keys", u.Token, map[string]any{"name": "ab", "environment": "prod", "permissions": []string{"search", "delete"}, "expiresAt": "2001-01-01T00:00:00Z"})
		Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
		if diff := cmp.Diff([]string{"environment", "expiresAt", "name", "permissions"}, detailFields(t, r)); diff != "" {
			t.Fatalf("fields (-want +got):\n%s", diff)
		}
	})

	t.Run("higher tiers need the admin role", func(t *testing.T) {
		u := s.Register(t)
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/keys", u.Token, map[string]any{"name": "greedy", "rateLimitTier": "enterprise"}), http.StatusForbidden, "INSUFFICIENT_PRIVILEGES")
	})

	t.Run("list, update, usage, regenerate, revoke", func(t *testing.T) {
		u := s.Register(t)
		k, secret := s.CreateKey(t, u, map[string]any{"name": "worker key"})

		var list struct {
			APIKeys []Key `json:"apiKeys"`
			Total   int   `json:"total"`
		}
		s.Call(t, http.MethodGet, "/api/v1/keys", u.Token, nil).Decode(t, &list)
		if list.Total != 1 || len(list.APIKeys) != 1 || list.APIKeys[0].ID != k.ID {
			t.Fatalf("list = %+v", list)
		}
		if strings.Contains(string(s.Call(t, http.MethodGet, "/api/v1/keys", u.Token, nil).Raw), secret) {
			t.Fatal("the list shows the secret")
		}

		r := s.Call(t, http.MethodPut, "/api/v1/keys/"+k.ID, u.Token, map[string]any{"name": "renamed key", "permissions": []string{"search", "analytics"}})
		Expect(t, r, http.StatusOK, "")
		var upd struct {
			APIKey Key `json:"apiKey"`
		}
		r.Decode(t, &upd)
		if upd.APIKey.Name != "renamed key" || strings.Join(upd.APIKey.Permissions, ",") != "search,analytics" {
			t.Fatalf("updated = %+v", upd.APIKey)
		}

		for i := 0; i < 3; i++ {
			r := s.Call(t, http.MethodGet, "/api/v1/search/history", secret, nil)
			if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
				t.Fatalf("key refused: %s", r.Raw)
			}
			if r.Header.Get("X-RateLimit-Limit") != "1000" || r.Header.Get("X-RateLimit-Tier") != "free" {
				t.Fatalf("rate-limit headers: %v", r.Header)
			}
			if rem, _ := strconv.Atoi(r.Header.Get("X-RateLimit-Remaining")); rem != 1000-(i+1) {
				t.Fatalf("remaining = %s after %d requests", r.Header.Get("X-RateLimit-Remaining"), i+1)
			}
		}
		var usage struct {
			Usage struct {
				APIKeyID        string  `json:"apiKeyId"`
				RequestCount    int     `json:"requestCount"`
				LastUsed        *string `json:"lastUsed"`
				RateLimitStatus struct {
					Tier      string `json:"tier"`
					Limit     int    `json:"limit"`
					Remaining int    `json:"remaining"`
					ResetTime string `json:"resetTime"`
				} `json:"rateLimitStatus"`
			} `json:"usage"`
		}
		if !eventually(t, 10*time.Second, func() bool {
			s.Call(t, http.MethodGet, "/api/v1/keys/"+k.ID+"/usage", u.Token, nil).Decode(t, &usage)
			return usage.Usage.RequestCount == 3
		}) {
			t.Fatalf("usage never reached 3 requests: %+v", usage)
		}
		st := usage.Usage.RateLimitStatus
		if usage.Usage.LastUsed == nil || st.Tier != "free" || st.Limit != 1000 || st.Remaining != 997 || st.ResetTime == "" {
			t.Fatalf("usage = %+v", usage.Usage)
		}

		r = s.Call(t, http.MethodPost, "/api/v1/keys/"+k.ID+"/regenerate", u.Token, nil)
		Expect(t, r, http.StatusOK, "")
		var regen keyData
		r.Decode(t, &regen)
		if regen.OldKeyID != k.ID || regen.APIKey.ID == k.ID || regen.SecretKey == secret || regen.APIKey.Name != "renamed key" {
			t.Fatalf("regenerated = %+v", regen)
		}
		if !eventually(t, 5*time.Second, func() bool {
			return s.Call(t, http.MethodGet, "/api/v1/search/history", secret, nil).Error.Code == "INVALID_API_KEY"
		}) {
			t.Fatal("the replaced key still works")
		}
		if r := s.Call(t, http.MethodGet, "/api/v1/search/history", regen.SecretKey, nil); r.Status == http.StatusUnauthorized {
			t.Fatalf("the new key is refused: %s", r.Raw)
		}

		r = s.Call(t, http.MethodDelete, "/api/v1/keys/"+regen.APIKey.ID, u.Token, nil)
		Expect(t, r, http.StatusOK, "")
		if !eventually(t, 5*time.Second, func() bool {
			return s.Call(t, http.MethodGet, "/api/v1/search/history", regen.SecretKey, nil).Error.Code == "INVALID_API_KEY"
		}) {
			t.Fatal("a revoked key still works")
		}
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/keys/"+regen.APIKey.ID+"/usage", u.Token, nil), http.StatusNotFound, "API_KEY_NOT_FOUND")
	})

	t.Run("an expired key is API_KEY_EXPIRED", func(t *testing.T) {
		u := s.Register(t)
		k, secret := s.CreateKey(t, u, map[string]any{"name": "short lived", "expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
		if _, err := s.DB.Exec("UPDATE api_keys SET expires_at = ? WHERE id = ?", time.Now().Add(-time.Minute).UTC(), k.ID); err != nil {
			t.Fatal(err)
		}
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/search/history", secret, nil), http.StatusUnauthorized, "API_KEY_EXPIRED")
	})

	t.Run("a deployment refuses keys of an environment it does not accept", func(t *testing.T) {
		liveOnly := s.StartGateway(t, "gateway-live-only", map[string]string{"ALTUS_API_KEY_ENVIRONMENTS": "live"})
		u := s.Register(t)
		_, testKey := s.CreateKey(t, u, map[string]any{"name": "test key", "environment": "test"})
		_, liveKey := s.CreateKey(t, u, map[string]any{"name": "live key", "environment": "live"})
		Expect(t, s.CallURL(t, liveOnly, http.MethodGet, "/api/v1/search/history", testKey, nil), http.StatusUnauthorized, "INVALID_API_KEY")
		Expect(t, s.CallURL(t, liveOnly, http.MethodGet, "/api/v1/search/history", liveKey, nil), http.StatusOK, "")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/search/history", testKey, nil), http.StatusOK, "")
	})

	t.Run("search routes name what is wrong with the key", func(t *testing.T) {
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/search/history", "", nil), http.StatusUnauthorized, "NO_API_KEY")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/search/history", "", nil, "Authorization", "Basic abc"), http.StatusUnauthorized, "INVALID_AUTH_FORMAT")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/search/history", "a-session-token", nil), http.StatusUnauthorized, "INVALID_API_KEY_FORMAT")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/search/history", "altus4_sk_live_nothex", nil), http.StatusUnauthorized, "INVALID_API_KEY_FORMAT")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/search/history", "altus4_sk_live_"+strings.Repeat("0", 48), nil), http.StatusUnauthorized, "INVALID_API_KEY")
	})

	t.Run("a key without the permission is refused with what it has", func(t *testing.T) {
		u := s.Register(t)
		_, secret := s.CreateKey(t, u, map[string]any{"name": "search only"})
		r := s.Call(t, http.MethodPost, "/api/v1/search/analyze", secret, map[string]any{"query": "x"})
		Expect(t, r, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
		var d struct {
			Required  []string `json:"required"`
			Available []string `json:"available"`
		}
		if err := json.Unmarshal(r.Error.Details, &d); err != nil || strings.Join(d.Required, ",") != "analytics" || strings.Join(d.Available, ",") != "search" {
			t.Fatalf("details = %s", r.Error.Details)
		}
	})

	t.Run("another user's key is not found", func(t *testing.T) {
		owner := s.Register(t)
		intruder := s.Register(t)
		k, _ := s.CreateKey(t, owner, map[string]any{"name": "private key"})
		Expect(t, s.Call(t, http.MethodPut, "/api/v1/keys/"+k.ID, intruder.Token, map[string]any{"name": "stolen"}), http.StatusNotFound, "API_KEY_NOT_FOUND")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/keys/"+k.ID+"/usage", intruder.Token, nil), http.StatusNotFound, "API_KEY_NOT_FOUND")
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/keys/"+k.ID+"/regenerate", intruder.Token, nil), http.StatusNotFound, "API_KEY_NOT_FOUND")
		Expect(t, s.Call(t, http.MethodDelete, "/api/v1/keys/"+k.ID, intruder.Token, nil), http.StatusNotFound, "API_KEY_NOT_FOUND")
		var list struct {
			Total int `json:"total"`
		}
		s.Call(t, http.MethodGet, "/api/v1/keys", owner.Token, nil).Decode(t, &list)
		if list.Total != 1 {
			t.Fatalf("owner's key touched by the intruder: total %d", list.Total)
		}
	})

	t.Run("search responses carry the key's tier in meta", func(t *testing.T) {
		u := s.Register(t)
		_, secret := s.CreateKey(t, u, map[string]any{"name": "tier key"})
		r := s.Call(t, http.MethodGet, "/api/v1/search/history", secret, nil)
		if r.Meta.APIKeyTier != "free" {
			t.Fatalf("meta.apiKeyTier = %q: %s", r.Meta.APIKeyTier, r.Raw)
		}
	})
}
