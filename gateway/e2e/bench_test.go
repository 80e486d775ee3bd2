package e2e

import (
	"net/http"
	"testing"
)

// BenchmarkLoginThroughGateway measures POST /api/v1/auth/login end to end
// (gateway -> account -> MariaDB, bcrypt cost 12 included).
func BenchmarkLoginThroughGateway(b *testing.B) {
	s := StartSuite(b, map[string]string{"ALTUS_AUTH_RATE_LIMIT": "1000000"})
	u := s.Register(b)
	body := map[string]string{"email": u.Email, "password": u.Password}
	b.ResetTimer()
	for b.Loop() {
		if r := s.Call(b, http.MethodPost, "/api/v1/auth/login", "", body); r.Status != http.StatusOK {
			b.Fatalf("login: %d %s", r.Status, r.Raw)
		}
	}
}

// BenchmarkSessionRouteThroughGateway measures an authenticated session
// route (GET /api/v1/keys): token check (cached at the edge), identity
// assertion, account service, MariaDB.
func BenchmarkSessionRouteThroughGateway(b *testing.B) {
	s := StartSuite(b, nil)
	u := s.Register(b)
	b.ResetTimer()
	for b.Loop() {
		if r := s.Call(b, http.MethodGet, "/api/v1/keys", u.Token, nil); r.Status != http.StatusOK {
			b.Fatalf("keys: %d %s", r.Status, r.Raw)
		}
	}
}

// BenchmarkAPIKeyVerifyThroughGateway measures the edge's work for an
// API-key request: key verification (account service on a cache miss, the
// edge's cache otherwise), the shared rate limit (cache service -> Redis)
// and usage accounting, on a route whose service answers at once.
func BenchmarkAPIKeyVerifyThroughGateway(b *testing.B) {
	for _, ttl := range []string{"0s", "5s"} {
		b.Run("auth_cache_ttl="+ttl, func(b *testing.B) {
			s := StartSuite(b, map[string]string{"ALTUS_AUTH_CACHE_TTL": ttl})
			u := s.Register(b)
			_, secret := s.CreateKey(b, u, map[string]any{"name": "bench key", "rateLimitTier": "free"})
			if _, err := s.DB.Exec("UPDATE api_keys SET rate_limit_tier = 'enterprise'"); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				r := s.Call(b, http.MethodGet, "/api/v1/search/history", secret, nil)
				if r.Status == http.StatusUnauthorized || r.Status == http.StatusTooManyRequests {
					b.Fatalf("history: %d %s", r.Status, r.Raw)
				}
			}
		})
	}
}
