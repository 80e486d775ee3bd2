package account_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/ratelimit"
	"github.com/altus4/altus/services/account/internal/account"
)

var keyFormat = regexp.MustCompile(`^altus4_sk_(test|live)_[0-9a-f]{48}$`)

func TestCreateAPIKeyDefaultsFormatAndStorage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "keys@example.com")
	nk, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "  my key "})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !keyFormat.MatchString(nk.Secret) || len(nk.Secret) != 63 || !strings.HasPrefix(nk.Secret, "altus4_sk_test_") {
		t.Errorf("secret %q is not a 63-character test key", nk.Secret)
	}
	k := nk.Key
	got := []any{k.Name, k.Environment, k.Permissions, k.Tier, k.KeyPrefix, k.IsActive, k.UserID}
	want := []any{"my key", "test", []string{"search"}, "free", nk.Secret[:30], true, p.UserID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("key (-want +got):\n%s", diff)
	}
	if nk.Warning == "" {
		t.Error("no warning with the secret")
	}
	sum := sha256.Sum256([]byte(nk.Secret))
	var hash string
	var found int
	if err := e.db.QueryRow("SELECT key_hash FROM api_keys WHERE id = ?", k.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if hash != hex.EncodeToString(sum[:]) {
		t.Errorf("key_hash = %s, want the SHA-256 hex of the key", hash)
	}
	if err := e.db.QueryRow("SELECT COUNT(*) FROM api_keys WHERE key_hash = ? OR key_prefix = ? OR name = ?", nk.Secret, nk.Secret, nk.Secret).Scan(&found); err != nil || found != 0 {
		t.Errorf("the secret itself is stored (%d rows, %v)", found, err)
	}
}

func TestCreateAPIKeyOptions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "opts@example.com")
	expiry := e.clock.Now().Add(48 * time.Hour)
	nk, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{
		Name: "live key", Environment: "LIVE", Permissions: []string{"analytics", "search", "analytics"}, ExpiresAt: expiry})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	got := []any{nk.Key.Environment, nk.Key.Permissions, nk.Key.ExpiresAt.Equal(expiry), strings.HasPrefix(nk.Secret, "altus4_sk_live_")}
	if diff := cmp.Diff([]any{"live", []string{"analytics", "search"}, true, true}, got); diff != "" {
		t.Errorf("key (-want +got):\n%s", diff)
	}
}

func TestCreateAPIKeyRejectsInvalidFields(t *testing.T) {
	e := newEnv(t)
	_, p := e.register(t, "badkey@example.com")
	past := e.clock.Now().Add(-time.Minute)
	tests := []struct {
		name string
		in   account.KeyInput
		want [][2]string
	}{
		{"name missing", account.KeyInput{}, [][2]string{{"name", account.CodeRequired}}},
		{"name short", account.KeyInput{Name: "ab"}, [][2]string{{"name", account.CodeTooShort}}},
		{"name long", account.KeyInput{Name: strings.Repeat("k", 101)}, [][2]string{{"name", account.CodeTooLong}}},
		{"environment", account.KeyInput{Name: "key", Environment: "prod"}, [][2]string{{"environment", account.CodeInvalid}}},
		{"permission", account.KeyInput{Name: "key", Permissions: []string{"search", "delete"}}, [][2]string{{"permissions", account.CodeInvalid}}},
		{"tier", account.KeyInput{Name: "key", Tier: "gold"}, [][2]string{{"rateLimitTier", account.CodeInvalid}}},
		{"expiry in the past", account.KeyInput{Name: "key", ExpiresAt: past}, [][2]string{{"expiresAt", account.CodeNotInFuture}}},
		{"all at once", account.KeyInput{Name: "k", Environment: "x", Permissions: []string{"x"}, Tier: "x", ExpiresAt: past},
			[][2]string{{"name", account.CodeTooShort}, {"environment", account.CodeInvalid}, {"permissions", account.CodeInvalid},
				{"rateLimitTier", account.CodeInvalid}, {"expiresAt", account.CodeNotInFuture}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.CreateAPIKey(context.Background(), p, tt.in)
			wantViolations(t, err, tt.want...)
		})
	}
}

func TestPaidTiersNeedAdminRole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, user := e.register(t, "user@example.com")
	_, admin := e.register(t, "admin@example.com")
	e.makeAdmin(t, admin.UserID)
	for _, tier := range []string{ratelimit.TierPro, ratelimit.TierEnterprise} {
		_, err := e.svc.CreateAPIKey(ctx, user, account.KeyInput{Name: "paid", Tier: tier})
		wantErr(t, err, account.ErrInsufficientPrivileges)
		nk, err := e.svc.CreateAPIKey(ctx, admin, account.KeyInput{Name: "paid", Tier: tier})
		if err != nil || nk.Key.Tier != tier {
			t.Errorf("admin creating %s key = %+v, %v", tier, nk.Key, err)
		}
	}
	free, err := e.svc.CreateAPIKey(ctx, user, account.KeyInput{Name: "free"})
	if err != nil {
		t.Fatal(err)
	}
	pro := "pro"
	_, err = e.svc.UpdateAPIKey(ctx, user, account.KeyUpdate{KeyID: free.Key.ID, Tier: &pro})
	wantErr(t, err, account.ErrInsufficientPrivileges)
}

func TestKeyManagementNeedsASessionCaller(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "viakey@example.com")
	nk, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	kp, err := e.svc.VerifyAPIKey(ctx, nk.Secret)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.CreateAPIKey(ctx, kp, account.KeyInput{Name: "second"})
	wantErr(t, err, account.ErrSessionRequired)
	_, err = e.svc.ListAPIKeys(ctx, kp)
	wantErr(t, err, account.ErrSessionRequired)
	wantErr(t, e.svc.RevokeAPIKey(ctx, kp, nk.Key.ID), account.ErrSessionRequired)
	_, err = e.svc.RegenerateAPIKey(ctx, kp, nk.Key.ID)
	wantErr(t, err, account.ErrSessionRequired)
	_, err = e.svc.SetupManagement(ctx, kp)
	wantErr(t, err, account.ErrSessionRequired)
}

func TestVerifyAPIKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "verify@example.com")
	expiry := e.clock.Now().Add(time.Hour)
	nk, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "verify", Environment: "live", Permissions: []string{"search", "analytics"}, ExpiresAt: expiry})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.VerifyAPIKey(ctx, nk.Secret)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	want := identity.Principal{UserID: p.UserID, Email: "verify@example.com", Name: "Test User", Role: "user",
		ExpiresAt: expiry, APIKeyID: nk.Key.ID, Permissions: []string{"search", "analytics"}, Tier: "free", Environment: "live"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}

	other := strings.Replace(nk.Secret, "_live_", "_test_", 1)
	tests := []struct {
		name, key string
		want      error
	}{
		{"empty", "", account.ErrInvalidAPIKeyFormat},
		{"session token", "eyJhbGciOiJIUzI1NiJ9.e30.sig", account.ErrInvalidAPIKeyFormat},
		{"uppercase hex", nk.Secret[:15] + strings.ToUpper(nk.Secret[15:]), account.ErrInvalidAPIKeyFormat},
		{"short", nk.Secret[:62], account.ErrInvalidAPIKeyFormat},
		{"long", nk.Secret + "0", account.ErrInvalidAPIKeyFormat},
		{"unknown environment", strings.Replace(nk.Secret, "_live_", "_prod_", 1), account.ErrInvalidAPIKeyFormat},
		{"environment changed", other, account.ErrInvalidAPIKey},
		{"unknown key", "altus4_sk_live_" + strings.Repeat("0", 48), account.ErrInvalidAPIKey},
		{"same prefix, other secret", nk.Secret[:30] + strings.Repeat("0", 33), account.ErrInvalidAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.VerifyAPIKey(ctx, tt.key)
			wantErr(t, err, tt.want)
		})
	}

	e.clock.Advance(time.Hour)
	_, err = e.svc.VerifyAPIKey(ctx, nk.Secret)
	wantErr(t, err, account.ErrAPIKeyExpired)
}

func TestRevokedKeyStopsVerifyingAndIsNotFound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "revoke@example.com")
	nk, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "to revoke"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeAPIKey(ctx, p, nk.Key.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	_, err = e.svc.VerifyAPIKey(ctx, nk.Secret)
	wantErr(t, err, account.ErrInvalidAPIKey)
	wantErr(t, e.svc.RevokeAPIKey(ctx, p, nk.Key.ID), account.ErrAPIKeyNotFound)
	name := "renamed"
	_, err = e.svc.UpdateAPIKey(ctx, p, account.KeyUpdate{KeyID: nk.Key.ID, Name: &name})
	wantErr(t, err, account.ErrAPIKeyNotFound)
	_, err = e.svc.APIKeyUsage(ctx, p, nk.Key.ID)
	wantErr(t, err, account.ErrAPIKeyNotFound)
	_, err = e.svc.RegenerateAPIKey(ctx, p, nk.Key.ID)
	wantErr(t, err, account.ErrAPIKeyNotFound)
	keys, err := e.svc.ListAPIKeys(ctx, p)
	if err != nil || len(keys) != 0 {
		t.Errorf("list after revoke = %d keys, %v; want none", len(keys), err)
	}
}

func TestAnotherUsersKeyIsNotFound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, owner := e.register(t, "owner@example.com")
	_, intruder := e.register(t, "intruder@example.com")
	nk, err := e.svc.CreateAPIKey(ctx, owner, account.KeyInput{Name: "owned"})
	if err != nil {
		t.Fatal(err)
	}
	name := "stolen"
	_, err = e.svc.UpdateAPIKey(ctx, intruder, account.KeyUpdate{KeyID: nk.Key.ID, Name: &name})
	wantErr(t, err, account.ErrAPIKeyNotFound)
	wantErr(t, e.svc.RevokeAPIKey(ctx, intruder, nk.Key.ID), account.ErrAPIKeyNotFound)
	_, err = e.svc.APIKeyUsage(ctx, intruder, nk.Key.ID)
	wantErr(t, err, account.ErrAPIKeyNotFound)
	_, err = e.svc.RegenerateAPIKey(ctx, intruder, nk.Key.ID)
	wantErr(t, err, account.ErrAPIKeyNotFound)
	if _, err := e.svc.VerifyAPIKey(ctx, nk.Secret); err != nil {
		t.Errorf("the owner's key stopped working: %v", err)
	}
	_, err = e.svc.RegenerateAPIKey(ctx, intruder, "not-a-uuid")
	wantErr(t, err, account.ErrAPIKeyNotFound)
	_, err = e.svc.RegenerateAPIKey(ctx, intruder, "")
	wantViolations(t, err, [2]string{"keyId", account.CodeRequired})
}

func TestRegenerateAPIKeyKeepsSettingsAndRevokesOld(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "regen@example.com")
	expiry := e.clock.Now().Add(24 * time.Hour)
	old, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "regen", Environment: "live", Permissions: []string{"analytics"}, ExpiresAt: expiry})
	if err != nil {
		t.Fatal(err)
	}
	nk, err := e.svc.RegenerateAPIKey(ctx, p, old.Key.ID)
	if err != nil {
		t.Fatalf("regenerate: %v", err)
	}
	got := []any{nk.OldKeyID, nk.Key.Name, nk.Key.Environment, nk.Key.Permissions, nk.Key.Tier, nk.Key.ExpiresAt.Equal(expiry), nk.Key.ID != old.Key.ID, nk.Secret != old.Secret}
	want := []any{old.Key.ID, "regen", "live", []string{"analytics"}, "free", true, true, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("regenerated (-want +got):\n%s", diff)
	}
	_, err = e.svc.VerifyAPIKey(ctx, old.Secret)
	wantErr(t, err, account.ErrInvalidAPIKey)
	if kp, err := e.svc.VerifyAPIKey(ctx, nk.Secret); err != nil || kp.APIKeyID != nk.Key.ID {
		t.Errorf("verify new key = %+v, %v", kp, err)
	}
}

func TestUpdateAPIKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "upd@example.com")
	e.makeAdmin(t, p.UserID)
	nk, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "before", Permissions: []string{"search", "admin"}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	name, tier := "after", "enterprise"
	expiry := e.clock.Now().Add(time.Hour)
	k, err := e.svc.UpdateAPIKey(ctx, p, account.KeyUpdate{KeyID: nk.Key.ID, Name: &name, Tier: &tier, ExpiresAt: &expiry})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	got := []any{k.Name, k.Permissions, k.Tier, k.ExpiresAt.Equal(expiry), k.UpdatedAt.Equal(e.clock.Now())}
	if diff := cmp.Diff([]any{"after", []string{"search", "admin"}, "enterprise", true, true}, got); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	k, err = e.svc.UpdateAPIKey(ctx, p, account.KeyUpdate{KeyID: nk.Key.ID, Permissions: []string{"analytics", "analytics"}})
	if err != nil || cmp.Diff([]string{"analytics"}, k.Permissions) != "" || k.Name != "after" {
		t.Errorf("update permissions = %+v, %v", k, err)
	}
	kp, err := e.svc.VerifyAPIKey(ctx, nk.Secret)
	if err != nil || kp.Tier != "enterprise" || cmp.Diff([]string{"analytics"}, kp.Permissions) != "" {
		t.Errorf("verify after update = %+v, %v", kp, err)
	}
	short, past := "x", e.clock.Now().Add(-time.Second)
	_, err = e.svc.UpdateAPIKey(ctx, p, account.KeyUpdate{KeyID: nk.Key.ID, Name: &short, Permissions: []string{"root"}, ExpiresAt: &past})
	wantViolations(t, err, [2]string{"name", account.CodeTooShort}, [2]string{"permissions", account.CodeInvalid}, [2]string{"expiresAt", account.CodeNotInFuture})
}

func TestListAPIKeysNewestFirst(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "list@example.com")
	var want []string
	for _, name := range []string{"first", "second", "third"} {
		nk, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{nk.Key.ID}, want...)
		e.clock.Advance(time.Second)
	}
	keys, err := e.svc.ListAPIKeys(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.ID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestActiveKeyCap(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "cap@example.com")
	var last account.NewKey
	for i := range account.MaxActiveKeys {
		nk, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "key number"})
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		last = nk
	}
	_, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "one too many"})
	wantErr(t, err, account.ErrKeyLimit)
	if err := e.svc.RevokeAPIKey(ctx, p, last.Key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "after a revoke"}); err != nil {
		t.Errorf("create after revoking one: %v", err)
	}
}

func TestSetupManagementCreatesFirstKeyOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "setup@example.com")
	nk, err := e.svc.SetupManagement(ctx, p)
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	got := []any{nk.Key.Name, nk.Key.Environment, nk.Key.Permissions, nk.Key.Tier, keyFormat.MatchString(nk.Secret), nk.Warning != ""}
	want := []any{"Initial API Key", "test", []string{"search", "admin"}, "free", true, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first key (-want +got):\n%s", diff)
	}
	_, err = e.svc.SetupManagement(ctx, p)
	wantErr(t, err, account.ErrSetupCompleted)
}

func TestRecordUsageAndUsageReport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, p := e.register(t, "usage@example.com")
	nk, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "usage"})
	if err != nil {
		t.Fatal(err)
	}
	t1 := e.clock.Now().Add(time.Minute)
	t0 := e.clock.Now()
	err = e.svc.RecordUsage(ctx, []account.UsageDelta{
		{KeyID: nk.Key.ID, Count: 5, LastUsed: t1, IP: "10.0.0.1"},
		{KeyID: nk.Key.ID, Count: 2, LastUsed: t0, IP: "10.0.0.2"}, // older: keeps t1 and its address
		{KeyID: "00000000-0000-0000-0000-000000000000", Count: 9, LastUsed: t1},
		{KeyID: nk.Key.ID, Count: 0},
	})
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	k, err := e.store.ActiveAPIKey(ctx, nk.Key.ID, p.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if got := []any{k.UsageCount, k.LastUsed.Equal(t1), k.LastUsedIP}; cmp.Diff([]any{uint64(7), true, "10.0.0.1"}, got) != "" {
		t.Errorf("after usage = %v, want [7 true 10.0.0.1]", got)
	}

	reset := e.clock.Now().Add(30 * time.Minute)
	e.limits.window = account.RateWindow{Remaining: 993, ResetTime: reset}
	u, err := e.svc.APIKeyUsage(ctx, p, nk.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := account.KeyUsage{KeyID: nk.Key.ID, RequestCount: 7, LastUsed: t1, Tier: "free", Limit: 1000, WindowKnown: true, Remaining: 993, ResetTime: reset}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{ratelimit.APIKeySubject(nk.Key.ID)}, e.limits.asked); diff != "" {
		t.Errorf("limiter keys asked (-want +got):\n%s", diff)
	}

	e.limits.err = context.DeadlineExceeded
	u, err = e.svc.APIKeyUsage(ctx, p, nk.Key.ID)
	if err != nil || u.WindowKnown || u.Limit != 1000 || u.RequestCount != 7 {
		t.Errorf("usage with the cache down = %+v, %v; want the count, the limit and an unknown window", u, err)
	}
}
