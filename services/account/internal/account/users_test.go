package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/services/account/internal/account"
)

func TestRegisterCreatesUserWithUserRoleAndWorkingToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.svc.Register(ctx, account.RegisterInput{Email: "  Alice@Example.COM ", Password: "password-123", Name: " Alice "})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	u := a.Profile.User
	got := []string{u.Email, u.Name, u.Role}
	if diff := cmp.Diff([]string{"alice@example.com", "Alice", identity.RoleUser}, got); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ds-1", "ds-2"}, a.Profile.ConnectedDatabases); diff != "" {
		t.Errorf("connected databases (-want +got):\n%s", diff)
	}
	if want := e.clock.Now().Add(time.Hour); !a.ExpiresAt.Equal(want) {
		t.Errorf("expiresAt = %v, want %v", a.ExpiresAt, want)
	}
	p := e.verify(t, a.Token)
	if p.UserID != u.ID || p.Role != identity.RoleUser || p.SessionID == "" || !p.ExpiresAt.Equal(a.ExpiresAt) {
		t.Errorf("principal = %+v, want user %s with a session expiring %v", p, u.ID, a.ExpiresAt)
	}
	// dbrouter was asked as the new user.
	if len(e.sources.asked) == 0 || e.sources.asked[0].UserID != u.ID {
		t.Errorf("data sources asked as %+v, want user %s", e.sources.asked, u.ID)
	}
}

func TestRegisterTokenCarriesV1Claims(t *testing.T) {
	e := newEnv(t)
	a, _ := e.register(t, "claims@example.com")
	c := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(a.Token, c, func(*jwt.Token) (any, error) { return []byte(testSecret), nil },
		jwt.WithTimeFunc(e.clock.Now)); err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, k := range []string{"id", "email", "name", "role", "jti", "iat", "exp"} {
		if _, ok := c[k]; !ok {
			t.Errorf("claim %q missing from %v", k, c)
		}
	}
}

func TestRegisterReportsEveryInvalidField(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("x", 101)
	tests := []struct {
		name string
		in   account.RegisterInput
		want [][2]string
	}{
		{"email missing", account.RegisterInput{Password: "password-123", Name: "Al"}, [][2]string{{"email", account.CodeRequired}}},
		{"email malformed", account.RegisterInput{Email: "not-an-email", Password: "password-123", Name: "Al"}, [][2]string{{"email", account.CodeInvalid}}},
		{"email with display name", account.RegisterInput{Email: "Al <al@example.com>", Password: "password-123", Name: "Al"}, [][2]string{{"email", account.CodeInvalid}}},
		{"password missing", account.RegisterInput{Email: "a@example.com", Name: "Al"}, [][2]string{{"password", account.CodeRequired}}},
		{"password short", account.RegisterInput{Email: "a@example.com", Password: "1234567", Name: "Al"}, [][2]string{{"password", account.CodeTooShort}}},
		{"password over 72 bytes", account.RegisterInput{Email: "a@example.com", Password: strings.Repeat("p", 73), Name: "Al"}, [][2]string{{"password", account.CodeTooLong}}},
		{"name missing", account.RegisterInput{Email: "a@example.com", Password: "password-123", Name: "  "}, [][2]string{{"name", account.CodeRequired}}},
		{"name short", account.RegisterInput{Email: "a@example.com", Password: "password-123", Name: "A"}, [][2]string{{"name", account.CodeTooShort}}},
		{"name long", account.RegisterInput{Email: "a@example.com", Password: "password-123", Name: long}, [][2]string{{"name", account.CodeTooLong}}},
		{"all at once", account.RegisterInput{Email: "x", Password: "short", Name: "A"},
			[][2]string{{"email", account.CodeInvalid}, {"password", account.CodeTooShort}, {"name", account.CodeTooShort}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Register(context.Background(), tt.in)
			wantViolations(t, err, tt.want...)
		})
	}
}

func TestRegisterAcceptsLimits(t *testing.T) {
	e := newEnv(t)
	_, err := e.svc.Register(context.Background(), account.RegisterInput{
		Email: "limits@example.com", Password: strings.Repeat("p", 72), Name: strings.Repeat("n", 100)})
	if err != nil {
		t.Fatalf("72-byte password and 100-character name: %v", err)
	}
}

func TestRegisterDuplicateEmailIgnoresCase(t *testing.T) {
	e := newEnv(t)
	e.register(t, "dup@example.com")
	_, err := e.svc.Register(context.Background(), account.RegisterInput{Email: " DUP@example.com", Password: "password-123", Name: "Other"})
	wantErr(t, err, account.ErrEmailTaken)
}

func TestProductionPasswordHashesUseCost12(t *testing.T) {
	e := newEnv(t, func(o *account.Options) { o.TestOnlyBcryptCost = 0 })
	a, _ := e.register(t, "cost@example.com")
	u, err := e.store.UserByID(context.Background(), a.Profile.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := bcrypt.Cost([]byte(u.PasswordHash))
	if err != nil {
		t.Fatal(err)
	}
	if cost != 12 {
		t.Errorf("bcrypt cost = %d, want 12", cost)
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.register(t, "login@example.com")
	_, gone := e.register(t, "gone@example.com")
	if err := e.svc.Deactivate(ctx, gone); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, email, password string
		want                  error
	}{
		{"right credentials", "login@example.com", "password-123", nil},
		{"email in other case and spaces", "  LOGIN@example.com ", "password-123", nil},
		{"wrong password", "login@example.com", "password-124", account.ErrAuthFailed},
		{"unknown email", "nobody@example.com", "password-123", account.ErrAuthFailed},
		{"deactivated with right password", "gone@example.com", "password-123", account.ErrAccountDeactivated},
		{"deactivated with wrong password", "gone@example.com", "password-124", account.ErrAuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := e.svc.Login(ctx, tt.email, tt.password)
			if tt.want != nil {
				wantErr(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			e.verify(t, a.Token)
			if !a.Profile.User.LastActive.Equal(e.clock.Now()) {
				t.Errorf("lastActive = %v, want %v", a.Profile.User.LastActive, e.clock.Now())
			}
		})
	}
	_, err := e.svc.Login(ctx, "", "")
	wantViolations(t, err, [2]string{"email", account.CodeRequired}, [2]string{"password", account.CodeRequired})
}

func TestLoginUpdatesLastActiveInDatabase(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := e.register(t, "active@example.com")
	e.clock.Advance(time.Hour)
	if _, err := e.svc.Login(ctx, "active@example.com", "password-123"); err != nil {
		t.Fatal(err)
	}
	u, err := e.store.UserByID(ctx, a.Profile.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !u.LastActive.Equal(e.clock.Now()) {
		t.Errorf("last_active = %v, want %v", u.LastActive, e.clock.Now())
	}
}

func TestChangePasswordRevokesOtherSessionsOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, mine := e.register(t, "pw@example.com")
	other, err := e.svc.Login(ctx, "pw@example.com", "password-123")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ChangePassword(ctx, mine, "password-123", "new-password-456"); err != nil {
		t.Fatalf("change password: %v", err)
	}
	e.verify(t, a.Token)
	_, err = e.svc.VerifyToken(ctx, other.Token)
	wantErr(t, err, account.ErrSessionEnded)
	_, err = e.svc.Login(ctx, "pw@example.com", "password-123")
	wantErr(t, err, account.ErrAuthFailed)
	if _, err := e.svc.Login(ctx, "pw@example.com", "new-password-456"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
}

func TestChangePasswordRejects(t *testing.T) {
	e := newEnv(t)
	_, p := e.register(t, "pwbad@example.com")
	tests := []struct {
		name, current, next string
		want                [][2]string
	}{
		{"wrong current password", "password-999", "new-password-456", [][2]string{{"currentPassword", account.CodeIncorrect}}},
		{"current missing", "", "new-password-456", [][2]string{{"currentPassword", account.CodeRequired}}},
		{"new too short", "password-123", "short", [][2]string{{"newPassword", account.CodeTooShort}}},
		{"new too long", "password-123", strings.Repeat("x", 73), [][2]string{{"newPassword", account.CodeTooLong}}},
		{"new same as current", "password-123", "password-123", [][2]string{{"newPassword", account.CodeSameAsCurrent}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.svc.ChangePassword(context.Background(), p, tt.current, tt.next)
			wantViolations(t, err, tt.want...)
		})
	}
	keyCaller := identity.Principal{UserID: p.UserID, Role: p.Role, APIKeyID: "k"}
	wantErr(t, e.svc.ChangePassword(context.Background(), keyCaller, "password-123", "new-password-456"), account.ErrSessionRequired)
}

func TestLogoutRevokesThePresentedSession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, p := e.register(t, "logout@example.com")
	other, err := e.svc.Login(ctx, "logout@example.com", "password-123")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Logout(ctx, p); err != nil {
		t.Fatalf("logout: %v", err)
	}
	_, err = e.svc.VerifyToken(ctx, a.Token)
	wantErr(t, err, account.ErrSessionEnded)
	e.verify(t, other.Token)
	wantErr(t, e.svc.Logout(ctx, p), account.ErrSessionEnded)
}

func TestRefreshRotatesTheSession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, p := e.register(t, "refresh@example.com")
	e.clock.Advance(10 * time.Minute)
	r, err := e.svc.RefreshToken(ctx, p)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	np := e.verify(t, r.Token)
	if np.SessionID == p.SessionID || np.UserID != p.UserID {
		t.Errorf("new principal = %+v, want a new session of %s", np, p.UserID)
	}
	if want := e.clock.Now().Add(time.Hour); !r.ExpiresAt.Equal(want) {
		t.Errorf("expiresAt = %v, want %v", r.ExpiresAt, want)
	}
	_, err = e.svc.VerifyToken(ctx, a.Token)
	wantErr(t, err, account.ErrSessionEnded)
	_, err = e.svc.RefreshToken(ctx, p)
	wantErr(t, err, account.ErrSessionEnded)
	_, err = e.svc.RefreshToken(ctx, identity.Principal{UserID: p.UserID, APIKeyID: "k"})
	wantErr(t, err, account.ErrSessionRequired)
}

func TestDeactivationLocksOutTokensKeysAndLogin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, p := e.register(t, "deact@example.com")
	key, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Deactivate(ctx, p); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	_, err = e.svc.VerifyToken(ctx, a.Token)
	wantErr(t, err, account.ErrSessionEnded)
	_, err = e.svc.VerifyAPIKey(ctx, key.Secret)
	wantErr(t, err, account.ErrInvalidAPIKey)
	_, err = e.svc.Login(ctx, "deact@example.com", "password-123")
	wantErr(t, err, account.ErrAccountDeactivated)
	_, err = e.svc.Profile(ctx, p)
	wantErr(t, err, account.ErrAccountUnavailable)
}

func TestVerifyTokenExpires(t *testing.T) {
	e := newEnv(t)
	a, _ := e.register(t, "exp@example.com")
	e.clock.Advance(time.Hour - time.Second)
	e.verify(t, a.Token)
	e.clock.Advance(2 * time.Second)
	_, err := e.svc.VerifyToken(context.Background(), a.Token)
	wantErr(t, err, account.ErrTokenExpired)
}

func TestVerifyTokenRejectsForgedAndMalformedTokens(t *testing.T) {
	e := newEnv(t)
	a, p := e.register(t, "forge@example.com")
	sign := func(secret string, method jwt.SigningMethod, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, c).SignedString(secret2key(secret, method))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := e.clock.Now()
	valid := jwt.MapClaims{"id": p.UserID, "email": p.Email, "name": p.Name, "role": "admin", "jti": p.SessionID,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	expired := jwt.MapClaims{"id": p.UserID, "jti": p.SessionID, "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()}
	noSession := jwt.MapClaims{"id": p.UserID, "role": "user", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	otherUser := jwt.MapClaims{"id": "00000000-0000-0000-0000-000000000000", "jti": p.SessionID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", account.ErrInvalidToken},
		{"garbage", "not.a.jwt", account.ErrInvalidToken},
		{"tampered signature", a.Token[:len(a.Token)-2] + "xx", account.ErrInvalidToken},
		{"other secret", sign("another-secret-another-secret-0123456", jwt.SigningMethodHS256, valid), account.ErrInvalidToken},
		{"expired with other secret", sign("another-secret-another-secret-0123456", jwt.SigningMethodHS256, expired), account.ErrInvalidToken},
		{"alg none", sign("", jwt.SigningMethodNone, valid), account.ErrInvalidToken},
		{"HS512", sign(testSecret, jwt.SigningMethodHS512, valid), account.ErrInvalidToken},
		{"expired", sign(testSecret, jwt.SigningMethodHS256, expired), account.ErrTokenExpired},
		{"no session id (v1 token)", sign(testSecret, jwt.SigningMethodHS256, noSession), account.ErrSessionEnded},
		{"session of another user", sign(testSecret, jwt.SigningMethodHS256, otherUser), account.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.VerifyToken(context.Background(), tt.token)
			wantErr(t, err, tt.want)
		})
	}
}

func secret2key(secret string, m jwt.SigningMethod) any {
	if m == jwt.SigningMethodNone {
		return jwt.UnsafeAllowNoneSignatureType
	}
	return []byte(secret)
}

func TestVerifyTokenTakesRoleFromDatabase(t *testing.T) {
	e := newEnv(t)
	a, p := e.register(t, "role@example.com")
	e.makeAdmin(t, p.UserID)
	if got := e.verify(t, a.Token).Role; got != identity.RoleAdmin {
		t.Errorf("role = %q, want %q (from the database, not the token)", got, identity.RoleAdmin)
	}
}

func TestVerifyTokenTouchesLastActiveAtMostOncePerMinute(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, p := e.register(t, "touch@example.com")
	lastActive := func() time.Time {
		t.Helper()
		u, err := e.store.UserByID(ctx, p.UserID)
		if err != nil {
			t.Fatal(err)
		}
		return u.LastActive
	}
	start := lastActive()
	e.clock.Advance(30 * time.Second)
	e.verify(t, a.Token)
	if got := lastActive(); !got.Equal(start) {
		t.Errorf("after 30s: last_active = %v, want unchanged %v", got, start)
	}
	e.clock.Advance(31 * time.Second)
	e.verify(t, a.Token)
	if got := lastActive(); !got.Equal(e.clock.Now()) {
		t.Errorf("after 61s: last_active = %v, want %v", got, e.clock.Now())
	}
}

func TestUpdateProfile(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.register(t, "taken@example.com")
	_, p := e.register(t, "me@example.com")
	str := func(s string) *string { return &s }

	got, err := e.svc.UpdateProfile(ctx, p, account.ProfileUpdate{Name: str(" New Name "), Email: str("ME2@Example.com")})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if got.User.Name != "New Name" || got.User.Email != "me2@example.com" {
		t.Errorf("profile = %+v, want name \"New Name\" and email me2@example.com", got.User)
	}
	if _, err := e.svc.Login(ctx, "me2@example.com", "password-123"); err != nil {
		t.Errorf("login with the new email: %v", err)
	}
	got, err = e.svc.UpdateProfile(ctx, p, account.ProfileUpdate{})
	if err != nil || got.User.Name != "New Name" {
		t.Errorf("empty update = %+v, %v; want the profile unchanged", got.User, err)
	}
	_, err = e.svc.UpdateProfile(ctx, p, account.ProfileUpdate{Email: str("Taken@example.com")})
	wantErr(t, err, account.ErrEmailTaken)
	_, err = e.svc.UpdateProfile(ctx, p, account.ProfileUpdate{Name: str("x"), Email: str("bad")})
	wantViolations(t, err, [2]string{"name", account.CodeTooShort}, [2]string{"email", account.CodeInvalid})
}

func TestConnectedDatabasesDegradeToEmptyWhenDBRouterIsSlowOrDown(t *testing.T) {
	tests := []struct {
		name    string
		sources *fakeSources
	}{
		{"slow", &fakeSources{block: true}},
		{"failing", &fakeSources{err: context.Canceled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(o *account.Options) {
				o.DataSources = tt.sources
				o.DependencyTimeout = 50 * time.Millisecond
			})
			a, p := e.register(t, "slow@example.com")
			if len(a.Profile.ConnectedDatabases) != 0 || a.Profile.ConnectedDatabases == nil {
				t.Errorf("connected databases = %#v, want an empty list", a.Profile.ConnectedDatabases)
			}
			prof, err := e.svc.Profile(context.Background(), p)
			if err != nil || len(prof.ConnectedDatabases) != 0 {
				t.Errorf("profile = %+v, %v; want an empty list and no error", prof, err)
			}
		})
	}
}

func TestPruneSessionsDeletesLongExpiredSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.register(t, "prune@example.com")
	e.clock.Advance(time.Hour + 23*time.Hour)
	if n, err := e.svc.PruneSessions(ctx); err != nil || n != 0 {
		t.Fatalf("prune within the day of grace = %d, %v; want 0", n, err)
	}
	e.clock.Advance(2 * time.Hour)
	if n, err := e.svc.PruneSessions(ctx); err != nil || n != 1 {
		t.Fatalf("prune = %d, %v; want 1", n, err)
	}
}

func TestMigrationStatusFollowsSetup(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "migrate@example.com")
	st, err := e.svc.MigrationStatus(ctx, p)
	if err != nil || st.HasMigrated || st.UserID != p.UserID || st.RecommendedAction == "" || st.Documentation != account.Documentation {
		t.Fatalf("before setup = %+v, %v", st, err)
	}
	if _, err := e.svc.SetupManagement(ctx, p); err != nil {
		t.Fatal(err)
	}
	if st, err = e.svc.MigrationStatus(ctx, p); err != nil || !st.HasMigrated {
		t.Fatalf("after setup = %+v, %v; want hasMigrated", st, err)
	}
}

func TestConcurrentRefreshesOfOneSessionSucceedOnce(t *testing.T) {
	e := newEnv(t)
	_, p := e.register(t, "race@example.com")
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := e.svc.RefreshToken(context.Background(), p)
			errs <- err
		}()
	}
	ok := 0
	for range n {
		err := <-errs
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, account.ErrSessionEnded):
			t.Errorf("refresh: %v, want success or ErrSessionEnded", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d refreshes succeeded, want exactly 1", ok)
	}
}
