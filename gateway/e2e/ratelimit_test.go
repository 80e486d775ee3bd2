package e2e

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/altus4/altus/pkg/testenv"
)

func TestRateLimits(t *testing.T) {
	s := StartSuite(t, map[string]string{"ALTUS_AUTH_RATE_LIMIT": "3"})

	t.Run("login is limited per client address", func(t *testing.T) {
		body := map[string]string{"email": "nobody@example.com", "password": "wrong password"}
		for i := 0; i < 3; i++ {
			r := s.Call(t, http.MethodPost, "/api/v1/auth/login", "", body)
			Expect(t, r, http.StatusUnauthorized, "AUTHENTICATION_FAILED")
			if r.Header.Get("X-RateLimit-Limit") != "3" {
				t.Fatalf("headers: %v", r.Header)
			}
		}
		r := s.Call(t, http.MethodPost, "/api/v1/auth/login", "", body)
		Expect(t, r, http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED")
		if r.Header.Get("Retry-After") == "" || r.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Fatalf("429 headers: %v", r.Header)
		}
	})

	t.Run("a key's tier is enforced across gateway replicas", func(t *testing.T) {
		// Register through a fresh replica address: the login limit above
		// counts per address and route, and register is its own route.
		u := s.Register(t)
		_, secret := s.CreateKey(t, u, map[string]any{"name": "busy key"})
		second := s.StartGateway(t, "gateway-2", nil)

		var allowed, limited atomic.Int64
		var mu sync.Mutex
		var last *Response
		acrossReplicas([]string{s.URL, second}, 8, 130, func(base string) {
			r := s.CallURL(t, base, http.MethodGet, "/api/v1/search/history", secret, nil)
			if r.Status == http.StatusTooManyRequests {
				limited.Add(1)
				mu.Lock()
				last = r
				mu.Unlock()
			} else {
				allowed.Add(1)
			}
		})
		if allowed.Load() != 1000 || limited.Load() != 40 {
			t.Fatalf("allowed %d, limited %d across two replicas; want exactly 1000 and 40", allowed.Load(), limited.Load())
		}
		if last.Error.Code != "RATE_LIMIT_EXCEEDED" || last.Header.Get("X-RateLimit-Tier") != "free" || last.Header.Get("Retry-After") == "" {
			t.Fatalf("429 = %s %v", last.Raw, last.Header)
		}
		var d struct {
			RetryAfter int    `json:"retryAfter"`
			Limit      int    `json:"limit"`
			Remaining  int    `json:"remaining"`
			Tier       string `json:"tier"`
		}
		if err := json.Unmarshal(last.Error.Details, &d); err != nil || d.Limit != 1000 || d.Remaining != 0 || d.Tier != "free" || d.RetryAfter <= 0 {
			t.Fatalf("details = %s", last.Error.Details)
		}
		reset, err := time.Parse(time.RFC3339, last.Header.Get("X-RateLimit-Reset"))
		if err != nil || !reset.After(time.Now()) || reset.Sub(time.Now()) > time.Hour {
			t.Fatalf("X-RateLimit-Reset = %q", last.Header.Get("X-RateLimit-Reset"))
		}
		if ra, _ := strconv.Atoi(last.Header.Get("Retry-After")); ra != d.RetryAfter {
			t.Fatalf("Retry-After %s != details.retryAfter %d", last.Header.Get("Retry-After"), d.RetryAfter)
		}
	})

	t.Run("searches started before their count answers never pass the tier", func(t *testing.T) {
		u := s.Register(t)
		_, secret := s.CreateKey(t, u, map[string]any{"name": "busy search key"})
		s.AddDatabase(t, u, "docs", TenantDatabase(t))
		second := s.StartGateway(t, "gateway-3", nil)
		early := metricSum(t, s, s.AdminPort("gateway"), "altus4_ratelimit_early_starts_total")

		var answered, limited atomic.Int64
		acrossReplicas([]string{s.URL, second}, 8, 130, func(base string) {
			r := s.CallURL(t, base, http.MethodPost, "/api/v1/search", secret,
				map[string]any{"query": "connection pool", "limit": 3}, "Cache-Control", "no-cache")
			switch {
			case r.Status == http.StatusTooManyRequests:
				if r.Error.Code != "RATE_LIMIT_EXCEEDED" || r.Header.Get("X-RateLimit-Remaining") != "0" || strings.Contains(string(r.Raw), "results") {
					t.Errorf("a refused search: %s %v", r.Raw, r.Header)
				}
				limited.Add(1)
			case r.Status == http.StatusOK && r.Header.Get("X-RateLimit-Tier") == "free":
				answered.Add(1)
			default:
				t.Errorf("search: %d %s %v", r.Status, r.Raw, r.Header)
			}
		})
		if answered.Load() != 1000 || limited.Load() != 40 {
			t.Fatalf("answered %d, limited %d across two replicas; want exactly 1000 and 40", answered.Load(), limited.Load())
		}
		if got := metricSum(t, s, s.AdminPort("gateway"), "altus4_ratelimit_early_starts_total") - early; got < 100 {
			t.Errorf("%d searches started before their count on one replica, want most of its ~500", got)
		}
	})
}

// With Redis unreachable the suite keeps serving: limits are counted locally
// and health says the gateway is degraded, not down.
func TestRedisDownDegradesInsteadOfFailing(t *testing.T) {
	s := StartSuite(t, map[string]string{"REDIS_PORT": strconv.Itoa(testenv.FreePort(t)), "ALTUS_AUTH_RATE_LIMIT": "2"})
	u := s.Register(t)
	_, secret := s.CreateKey(t, u, map[string]any{"name": "no redis"})
	r := s.Call(t, http.MethodGet, "/api/v1/search/history", secret, nil)
	if r.Status == http.StatusTooManyRequests || r.Status == http.StatusUnauthorized || r.Header.Get("X-RateLimit-Remaining") != "999" {
		t.Fatalf("keyed request with Redis down: %d %v %s", r.Status, r.Header, r.Raw)
	}
	resp, err := s.HTTP.Get(s.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status       string            `json:"status"`
		Dependencies map[string]string `json:"dependencies"`
	}
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || h.Status != "degraded" || h.Dependencies["redis"] != "down" || h.Dependencies["rateLimiting"] != "degraded" {
		t.Fatalf("health = %d %+v", resp.StatusCode, h)
	}
	body := map[string]string{"email": u.Email, "password": "wrong password"}
	s.Call(t, http.MethodPost, "/api/v1/auth/login", "", body)
	s.Call(t, http.MethodPost, "/api/v1/auth/login", "", body)
	Expect(t, s.Call(t, http.MethodPost, "/api/v1/auth/login", "", body), http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED")
}

// acrossReplicas runs workers concurrent clients, each making calls calls
// to one of the replicas in turn (worker w to replicas[w%len]), and waits
// for them all.
func acrossReplicas(replicas []string, workers, calls int, call func(base string)) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range calls {
				call(replicas[w%len(replicas)])
			}
		})
	}
	wg.Wait()
}
