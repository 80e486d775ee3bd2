package e2e

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

type fieldDetail struct {
	Field string `json:"field"`
	Code  string `json:"code"`
}

func detailFields(t *testing.T, r *Response) []string {
	t.Helper()
	var details []fieldDetail
	if err := json.Unmarshal(r.Error.Details, &details); err != nil {
		t.Fatalf("details are not a field list: %s", r.Raw)
	}
	var fields []string
	for _, d := range details {
		fields = append(fields, d.Field)
	}
	sort.Strings(fields)
	return fields
}

// eventually retries f until it succeeds or the deadline passes: for effects
// that the edge's brief credential cache may delay by a second or two.
func eventually(t *testing.T, within time.Duration, f func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if f() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return f()
}

func TestAccounts(t *testing.T) {
	s := StartSuite(t, nil)

	t.Run("register returns the user and a working token", func(t *testing.T) {
		u := s.Register(t)
		if u.ID == "" || u.Role != "user" || u.Token == "" {
			t.Fatalf("user = %+v", u)
		}
		r := s.Call(t, http.MethodGet, "/api/v1/auth/profile", u.Token, nil)
		Expect(t, r, http.StatusOK, "")
		var got User
		r.Decode(t, &got)
		if got.ID != u.ID || got.Email != u.Email {
			t.Fatalf("profile = %+v, want %+v", got, u)
		}
		if !strings.Contains(string(r.Raw), `"connectedDatabases":[]`) {
			t.Fatalf("connectedDatabases is not an empty list: %s", r.Raw)
		}
	})

	t.Run("registration never grants the admin role", func(t *testing.T) {
		r := s.Call(t, http.MethodPost, "/api/v1/auth/register", "", map[string]string{"email": "would-be-admin@example.com", "password": "long enough pw", "name": "Mallory", "role": "admin"})
		Expect(t, r, http.StatusCreated, "")
		var d authData
		r.Decode(t, &d)
		if d.User.Role != "user" {
			t.Fatalf("role = %q", d.User.Role)
		}
	})

	t.Run("register validates every field at once", func(t *testing.T) {
		r := s.Call(t, http.MethodPost, "/api/v1/auth/register", "", map[string]string{"email": "not-an-email", "password": "short", "name": "x"})
		Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
		if diff := cmp.Diff([]string{"email", "name", "password"}, detailFields(t, r)); diff != "" {
			t.Fatalf("fields (-want +got):\n%s", diff)
		}
	})

	t.Run("duplicate email is a conflict", func(t *testing.T) {
		u := s.Register(t)
		r := s.Call(t, http.MethodPost, "/api/v1/auth/register", "", map[string]string{"email": strings.ToUpper(u.Email), "password": "another password", "name": "Twin"})
		Expect(t, r, http.StatusConflict, "USER_ALREADY_EXISTS")
	})

	t.Run("login checks the password", func(t *testing.T) {
		u := s.Register(t)
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": "wrong password"}), http.StatusUnauthorized, "AUTHENTICATION_FAILED")
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "whatever pw"}), http.StatusUnauthorized, "AUTHENTICATION_FAILED")
		r := s.Call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": u.Password})
		Expect(t, r, http.StatusOK, "")
		var d authData
		r.Decode(t, &d)
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/auth/profile", d.Token, nil), http.StatusOK, "")
	})

	t.Run("session routes name what is wrong with the credential", func(t *testing.T) {
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/auth/profile", "", nil), http.StatusUnauthorized, "NO_TOKEN")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/auth/profile", "", nil, "Authorization", "Token abc"), http.StatusUnauthorized, "INVALID_AUTH_FORMAT")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/auth/profile", "not.a.jwt", nil), http.StatusUnauthorized, "INVALID_TOKEN")
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/auth/profile", "altus4_sk_test_"+strings.Repeat("a", 48), nil), http.StatusUnauthorized, "INVALID_TOKEN")
	})

	t.Run("an expired token is TOKEN_EXPIRED", func(t *testing.T) {
		u := s.Register(t)
		claims := jwt.MapClaims{"id": u.ID, "email": u.Email, "name": u.Name, "role": "user", "jti": "expired-session", "iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(s.Env["JWT_SECRET"]))
		if err != nil {
			t.Fatal(err)
		}
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/auth/profile", tok, nil), http.StatusUnauthorized, "TOKEN_EXPIRED")
	})

	t.Run("a token signed with another secret is INVALID_TOKEN", func(t *testing.T) {
		u := s.Register(t)
		claims := jwt.MapClaims{"id": u.ID, "email": u.Email, "role": "admin", "jti": "forged", "exp": time.Now().Add(time.Hour).Unix()}
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(strings.Repeat("x", 64)))
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/auth/profile", tok, nil), http.StatusUnauthorized, "INVALID_TOKEN")
	})

	t.Run("profile update validates and saves", func(t *testing.T) {
		u := s.Register(t)
		other := s.Register(t)
		Expect(t, s.Call(t, http.MethodPut, "/api/v1/auth/profile", u.Token, map[string]string{"email": other.Email}), http.StatusConflict, "USER_ALREADY_EXISTS")
		Expect(t, s.Call(t, http.MethodPut, "/api/v1/auth/profile", u.Token, map[string]string{"name": "x"}), http.StatusBadRequest, "VALIDATION_ERROR")
		r := s.Call(t, http.MethodPut, "/api/v1/auth/profile", u.Token, map[string]string{"name": "Renamed User"})
		Expect(t, r, http.StatusOK, "")
		var got User
		r.Decode(t, &got)
		if got.Name != "Renamed User" || got.Email != u.Email {
			t.Fatalf("profile = %+v", got)
		}
	})

	t.Run("change password checks the current one and ends other sessions", func(t *testing.T) {
		u := s.Register(t)
		r := s.Call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": u.Password})
		var second authData
		r.Decode(t, &second)

		r = s.Call(t, http.MethodPost, "/api/v1/auth/change-password", u.Token, map[string]string{"currentPassword": "wrong one!", "newPassword": "brand new password"})
		Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
		if diff := cmp.Diff([]string{"currentPassword"}, detailFields(t, r)); diff != "" {
			t.Fatalf("fields: %s", diff)
		}
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/auth/change-password", u.Token, map[string]string{"currentPassword": u.Password, "newPassword": "brand new password"}), http.StatusOK, "")

		Expect(t, s.Call(t, http.MethodGet, "/api/v1/auth/profile", u.Token, nil), http.StatusOK, "")
		if !eventually(t, 5*time.Second, func() bool {
			return s.Call(t, http.MethodGet, "/api/v1/auth/profile", second.Token, nil).Status == http.StatusUnauthorized
		}) {
			t.Fatal("the other session still works after a password change")
		}
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": u.Password}), http.StatusUnauthorized, "AUTHENTICATION_FAILED")
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": "brand new password"}), http.StatusOK, "")
	})

	t.Run("refresh issues a new token and retires the old one", func(t *testing.T) {
		u := s.Register(t)
		r := s.Call(t, http.MethodPost, "/api/v1/auth/refresh", u.Token, nil)
		Expect(t, r, http.StatusOK, "")
		var d authData
		r.Decode(t, &d)
		if d.Token == "" || d.Token == u.Token {
			t.Fatalf("refresh token = %q", d.Token)
		}
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/auth/profile", d.Token, nil), http.StatusOK, "")
		if !eventually(t, 5*time.Second, func() bool {
			return s.Call(t, http.MethodGet, "/api/v1/auth/profile", u.Token, nil).Error.Code == "INVALID_TOKEN"
		}) {
			t.Fatal("the refreshed-away token still works")
		}
	})

	t.Run("logout revokes the token within seconds", func(t *testing.T) {
		u := s.Register(t)
		Expect(t, s.Call(t, http.MethodGet, "/api/v1/auth/profile", u.Token, nil), http.StatusOK, "")
		r := s.Call(t, http.MethodPost, "/api/v1/auth/logout", u.Token, nil)
		Expect(t, r, http.StatusOK, "")
		if !eventually(t, 5*time.Second, func() bool {
			return s.Call(t, http.MethodGet, "/api/v1/auth/profile", u.Token, nil).Error.Code == "INVALID_TOKEN"
		}) {
			t.Fatal("token works after logout")
		}
	})

	t.Run("logout and key revocation on one gateway hold on another replica within its cache TTL", func(t *testing.T) {
		second := s.StartGateway(t, "gateway-auth-2", map[string]string{"ALTUS_AUTH_CACHE_TTL": "3s"})
		u := s.Register(t)
		k, secret := s.CreateKey(t, u, map[string]any{"name": "replica key"})
		// Both credentials are now in the second replica's cache.
		Expect(t, s.CallURL(t, second, http.MethodGet, "/api/v1/auth/profile", u.Token, nil), http.StatusOK, "")
		Expect(t, s.CallURL(t, second, http.MethodGet, "/api/v1/search/history", secret, nil), http.StatusOK, "")

		Expect(t, s.Call(t, http.MethodPost, "/api/v1/auth/logout", u.Token, nil), http.StatusOK, "")
		revoked := time.Now()
		if !eventually(t, 6*time.Second, func() bool {
			return s.CallURL(t, second, http.MethodGet, "/api/v1/auth/profile", u.Token, nil).Error.Code == "INVALID_TOKEN"
		}) {
			t.Fatal("the other replica still accepts the token 6s after logout")
		}
		t.Logf("token refused by the other replica %s after logout", time.Since(revoked).Round(100*time.Millisecond))

		// The key is revoked with a second session, as the first has ended.
		u2 := u
		r := s.Call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": u.Password})
		Expect(t, r, http.StatusOK, "")
		var login struct {
			Token string `json:"token"`
		}
		r.Decode(t, &login)
		u2.Token = login.Token
		Expect(t, s.CallURL(t, second, http.MethodGet, "/api/v1/search/history", secret, nil), http.StatusOK, "")
		Expect(t, s.Call(t, http.MethodDelete, "/api/v1/keys/"+k.ID, u2.Token, nil), http.StatusOK, "")
		if !eventually(t, 6*time.Second, func() bool {
			return s.CallURL(t, second, http.MethodGet, "/api/v1/search/history", secret, nil).Error.Code == "INVALID_API_KEY"
		}) {
			t.Fatal("the other replica still accepts the key 6s after it was revoked")
		}
	})

	t.Run("deactivation locks the user out everywhere", func(t *testing.T) {
		u := s.Register(t)
		_, secret := s.CreateKey(t, u, map[string]any{"name": "doomed key"})
		Expect(t, s.Call(t, http.MethodDelete, "/api/v1/auth/account", u.Token, nil), http.StatusOK, "")
		if !eventually(t, 5*time.Second, func() bool {
			return s.Call(t, http.MethodGet, "/api/v1/auth/profile", u.Token, nil).Status == http.StatusUnauthorized
		}) {
			t.Fatal("token works after deactivation")
		}
		if !eventually(t, 5*time.Second, func() bool {
			return s.Call(t, http.MethodGet, "/api/v1/search/history", secret, nil).Status == http.StatusUnauthorized
		}) {
			t.Fatal("API key works after deactivation")
		}
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": u.Password}), http.StatusUnauthorized, "AUTHENTICATION_FAILED")
	})

	t.Run("migration status follows the first key", func(t *testing.T) {
		u := s.Register(t)
		var st struct {
			UserID      string `json:"userId"`
			HasMigrated bool   `json:"hasMigrated"`
		}
		r := s.Call(t, http.MethodGet, "/api/v1/management/migration-status", u.Token, nil)
		Expect(t, r, http.StatusOK, "")
		r.Decode(t, &st)
		if st.UserID != u.ID || st.HasMigrated {
			t.Fatalf("before setup: %+v", st)
		}
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/management/setup", u.Token, nil), http.StatusCreated, "")
		s.Call(t, http.MethodGet, "/api/v1/management/migration-status", u.Token, nil).Decode(t, &st)
		if !st.HasMigrated {
			t.Fatalf("after setup: %+v", st)
		}
	})
}
