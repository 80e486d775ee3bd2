package grpcapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/account/internal/account"
	"github.com/altus4/altus/services/account/internal/grpcapi"
	"github.com/altus4/altus/services/account/internal/store"
)

const secret = "grpcapi-test-secret-grpcapi-test-secret"

// quiet drops the per-call logs of the server under test.
var quiet = slog.New(slog.DiscardHandler)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fakeLimits struct {
	err error
}

func (f *fakeLimits) PeekRateLimit(context.Context, string, int, time.Duration) (account.RateWindow, error) {
	if f.err != nil {
		return account.RateWindow{}, f.err
	}
	return account.RateWindow{Remaining: 990, ResetTime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
}

type harness struct {
	client accountv1.AccountServiceClient
	signer *identity.Signer
	clock  *clock
	limits *fakeLimits
	st     *store.Store
}

// newHarness serves the real adapter over the real domain and a fresh
// database on an in-memory connection, with the suite's interceptor chain.
func newHarness(t *testing.T) *harness {
	t.Helper()
	db, _ := testenv.OpenDatabase(t)
	if _, err := migrate.Up(context.Background(), db, "account", store.Migrations(), nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	h := &harness{signer: identity.NewSigner(secret), clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, limits: &fakeLimits{}, st: store.New(db)}
	svc, err := account.New(account.Options{
		Store: h.st, Secret: secret, Signer: h.signer, TokenTTL: time.Hour,
		RateLimits: h.limits, Now: h.clock.Now, TestOnlyBcryptCost: bcrypt.MinCost, Log: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcx.NewServer(grpcx.ServerOptions{Logger: quiet, Signer: h.signer, Authenticator: grpcapi.NewAuthenticator(svc, quiet)})
	accountv1.RegisterAccountServiceServer(srv, grpcapi.New(svc))
	srv.Ready()
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpcx.Dial("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h.client = accountv1.NewAccountServiceClient(conn)
	return h
}

func bearer(token string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

func (h *harness) asserted(p identity.Principal) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), identity.MetadataKey, h.signer.Sign(p, time.Minute))
}

// register creates a user and returns its token.
func (h *harness) register(t *testing.T, email string) *accountv1.RegisterResponse {
	t.Helper()
	r, err := h.client.Register(context.Background(), &accountv1.RegisterRequest{Email: email, Password: "password-123", Name: "Grpc User"})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return r
}

type outcome struct {
	Code   codes.Code
	Reason string
}

func outcomeOf(err error) outcome { return outcome{status.Code(err), grpcx.Reason(err)} }

func wantOutcome(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	if diff := cmp.Diff(outcome{code, reason}, outcomeOf(err)); diff != "" {
		t.Errorf("status (-want +got):\n%s\nerror: %v", diff, err)
	}
}

// fieldViolations returns the (field, reason) pairs of a validation status.
func fieldViolations(err error) [][2]string {
	st, _ := status.FromError(err)
	var out [][2]string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, [2]string{v.GetField(), v.GetReason()})
			}
		}
	}
	return out
}

func TestRegisterAndLoginAnswerV1Codes(t *testing.T) {
	h := newHarness(t)
	h.register(t, "taken@example.com")
	gone := h.register(t, "gone@example.com")
	if _, err := h.client.DeactivateAccount(bearer(gone.GetToken()), &accountv1.DeactivateAccountRequest{}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		code   codes.Code
		reason string
	}{
		{"duplicate email", func() error {
			_, err := h.client.Register(ctx, &accountv1.RegisterRequest{Email: "TAKEN@example.com", Password: "password-123", Name: "Dup"})
			return err
		}, codes.AlreadyExists, grpcapi.ReasonUserAlreadyExists},
		{"wrong password", func() error {
			_, err := h.client.Login(ctx, &accountv1.LoginRequest{Email: "taken@example.com", Password: "wrong-password"})
			return err
		}, codes.Unauthenticated, grpcapi.ReasonAuthenticationFailed},
		{"unknown email", func() error {
			_, err := h.client.Login(ctx, &accountv1.LoginRequest{Email: "nobody@example.com", Password: "password-123"})
			return err
		}, codes.Unauthenticated, grpcapi.ReasonAuthenticationFailed},
		{"deactivated", func() error {
			_, err := h.client.Login(ctx, &accountv1.LoginRequest{Email: "gone@example.com", Password: "password-123"})
			return err
		}, codes.Unauthenticated, grpcapi.ReasonAuthenticationFailed},
		{"login without fields", func() error {
			_, err := h.client.Login(ctx, &accountv1.LoginRequest{})
			return err
		}, codes.InvalidArgument, grpcx.ReasonValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantOutcome(t, tt.call(), tt.code, tt.reason) })
	}
}

func TestRegisterValidationListsEveryField(t *testing.T) {
	h := newHarness(t)
	_, err := h.client.Register(context.Background(), &accountv1.RegisterRequest{Email: "nope", Password: "short", Name: "x"})
	wantOutcome(t, err, codes.InvalidArgument, grpcx.ReasonValidation)
	want := [][2]string{{"email", account.CodeInvalid}, {"password", account.CodeTooShort}, {"name", account.CodeTooShort}}
	if diff := cmp.Diff(want, fieldViolations(err)); diff != "" {
		t.Errorf("field violations (-want +got):\n%s", diff)
	}
}

func TestRegisterAnswersUserAndToken(t *testing.T) {
	h := newHarness(t)
	r := h.register(t, "shape@example.com")
	u := r.GetUser()
	got := []any{u.GetEmail(), u.GetName(), u.GetRole(), len(u.GetConnectedDatabases()), u.GetCreatedAt() != nil, r.GetToken() != "",
		r.GetExpiresAt().AsTime().Equal(h.clock.Now().Add(time.Hour))}
	want := []any{"shape@example.com", "Grpc User", "user", 0, true, true, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("register (-want +got):\n%s", diff)
	}
	v, err := h.client.VerifyToken(context.Background(), &accountv1.VerifyTokenRequest{Token: r.GetToken()})
	if err != nil || v.GetPrincipal().GetUserId() != u.GetId() || v.GetPrincipal().GetSessionId() == "" {
		t.Errorf("verify = %v, %v", v, err)
	}
}

func TestCallsThatNeedACallerAnswerNoTokenWithoutOne(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c := h.client
	calls := map[string]func() error{
		"GetProfile":         func() error { _, err := c.GetProfile(ctx, &accountv1.GetProfileRequest{}); return err },
		"UpdateProfile":      func() error { _, err := c.UpdateProfile(ctx, &accountv1.UpdateProfileRequest{}); return err },
		"ChangePassword":     func() error { _, err := c.ChangePassword(ctx, &accountv1.ChangePasswordRequest{}); return err },
		"RefreshToken":       func() error { _, err := c.RefreshToken(ctx, &accountv1.RefreshTokenRequest{}); return err },
		"Logout":             func() error { _, err := c.Logout(ctx, &accountv1.LogoutRequest{}); return err },
		"DeactivateAccount":  func() error { _, err := c.DeactivateAccount(ctx, &accountv1.DeactivateAccountRequest{}); return err },
		"GetMigrationStatus": func() error { _, err := c.GetMigrationStatus(ctx, &accountv1.GetMigrationStatusRequest{}); return err },
		"SetupManagement":    func() error { _, err := c.SetupManagement(ctx, &accountv1.SetupManagementRequest{}); return err },
		"CreateApiKey":       func() error { _, err := c.CreateApiKey(ctx, &accountv1.CreateApiKeyRequest{Name: "key"}); return err },
		"ListApiKeys":        func() error { _, err := c.ListApiKeys(ctx, &accountv1.ListApiKeysRequest{}); return err },
		"UpdateApiKey":       func() error { _, err := c.UpdateApiKey(ctx, &accountv1.UpdateApiKeyRequest{KeyId: "k"}); return err },
		"RevokeApiKey":       func() error { _, err := c.RevokeApiKey(ctx, &accountv1.RevokeApiKeyRequest{KeyId: "k"}); return err },
		"GetApiKeyUsage": func() error {
			_, err := c.GetApiKeyUsage(ctx, &accountv1.GetApiKeyUsageRequest{KeyId: "k"})
			return err
		},
		"RegenerateApiKey": func() error {
			_, err := c.RegenerateApiKey(ctx, &accountv1.RegenerateApiKeyRequest{KeyId: "k"})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) { wantOutcome(t, call(), codes.Unauthenticated, grpcapi.ReasonNoToken) })
	}
}

func TestDirectCallersAreAuthenticatedByBearerOrAssertion(t *testing.T) {
	h := newHarness(t)
	r := h.register(t, "direct@example.com")
	if _, err := h.client.GetProfile(bearer(r.GetToken()), &accountv1.GetProfileRequest{}); err != nil {
		t.Errorf("profile with a bearer token: %v", err)
	}
	p := identity.Principal{UserID: r.GetUser().GetId(), Role: "user", SessionID: "s"}
	if got, err := h.client.GetProfile(h.asserted(p), &accountv1.GetProfileRequest{}); err != nil || got.GetUser().GetId() != p.UserID {
		t.Errorf("profile with an assertion = %v, %v", got, err)
	}
	forged := metadata.AppendToOutgoingContext(context.Background(), identity.MetadataKey,
		identity.NewSigner("someone-else-someone-else-someone-else").Sign(p, time.Minute))
	tests := []struct {
		name   string
		ctx    context.Context
		reason string
	}{
		{"garbage token", bearer("garbage"), grpcapi.ReasonInvalidToken},
		{"not a bearer", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Basic abc"), grpcapi.ReasonInvalidToken},
		{"malformed key", bearer("altus4_sk_test_123"), grpcapi.ReasonInvalidAPIKeyFormat},
		{"unknown key", bearer("altus4_sk_test_" + "0123456789abcdef0123456789abcdef0123456789abcdef"), grpcapi.ReasonInvalidAPIKey},
		{"forged assertion", forged, grpcapi.ReasonInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.client.GetProfile(tt.ctx, &accountv1.GetProfileRequest{})
			wantOutcome(t, err, codes.Unauthenticated, tt.reason)
		})
	}
}

func TestSessionRoutesOverGRPC(t *testing.T) {
	h := newHarness(t)
	r := h.register(t, "sessions@example.com")
	ctx := bearer(r.GetToken())

	_, err := h.client.ChangePassword(ctx, &accountv1.ChangePasswordRequest{CurrentPassword: "wrong-password", NewPassword: "new-password-1"})
	wantOutcome(t, err, codes.InvalidArgument, grpcx.ReasonValidation)
	if diff := cmp.Diff([][2]string{{"currentPassword", account.CodeIncorrect}}, fieldViolations(err)); diff != "" {
		t.Errorf("field violations (-want +got):\n%s", diff)
	}
	if cp, err := h.client.ChangePassword(ctx, &accountv1.ChangePasswordRequest{CurrentPassword: "password-123", NewPassword: "new-password-1"}); err != nil || !cp.GetSuccess() {
		t.Fatalf("change password = %v, %v", cp, err)
	}

	ref, err := h.client.RefreshToken(ctx, &accountv1.RefreshTokenRequest{})
	if err != nil || ref.GetToken() == "" || ref.GetUser().GetId() != r.GetUser().GetId() {
		t.Fatalf("refresh = %v, %v", ref, err)
	}
	_, err = h.client.VerifyToken(context.Background(), &accountv1.VerifyTokenRequest{Token: r.GetToken()})
	wantOutcome(t, err, codes.Unauthenticated, grpcapi.ReasonInvalidToken)

	out, err := h.client.Logout(bearer(ref.GetToken()), &accountv1.LogoutRequest{})
	if err != nil || !out.GetSuccess() {
		t.Fatalf("logout = %v, %v", out, err)
	}
	_, err = h.client.VerifyToken(context.Background(), &accountv1.VerifyTokenRequest{Token: ref.GetToken()})
	wantOutcome(t, err, codes.Unauthenticated, grpcapi.ReasonInvalidToken)

	login, err := h.client.Login(context.Background(), &accountv1.LoginRequest{Email: "sessions@example.com", Password: "new-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Hour)
	_, err = h.client.VerifyToken(context.Background(), &accountv1.VerifyTokenRequest{Token: login.GetToken()})
	wantOutcome(t, err, codes.Unauthenticated, grpcapi.ReasonTokenExpired)
	_, err = h.client.GetProfile(bearer(login.GetToken()), &accountv1.GetProfileRequest{})
	wantOutcome(t, err, codes.Unauthenticated, grpcapi.ReasonTokenExpired)
}

func TestAPIKeyCallersCannotUseSessionRoutes(t *testing.T) {
	h := newHarness(t)
	r := h.register(t, "keycaller@example.com")
	k, err := h.client.CreateApiKey(bearer(r.GetToken()), &accountv1.CreateApiKeyRequest{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	kctx := bearer(k.GetSecretKey())
	_, err = h.client.RefreshToken(kctx, &accountv1.RefreshTokenRequest{})
	wantOutcome(t, err, codes.Unauthenticated, grpcapi.ReasonInvalidToken)
	_, err = h.client.CreateApiKey(kctx, &accountv1.CreateApiKeyRequest{Name: "second"})
	wantOutcome(t, err, codes.Unauthenticated, grpcapi.ReasonInvalidToken)
}

func TestAPIKeyRoutesOverGRPC(t *testing.T) {
	h := newHarness(t)
	r := h.register(t, "keys@example.com")
	ctx := bearer(r.GetToken())

	setup, err := h.client.SetupManagement(ctx, &accountv1.SetupManagementRequest{})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	_, err = h.client.SetupManagement(ctx, &accountv1.SetupManagementRequest{})
	wantOutcome(t, err, codes.FailedPrecondition, grpcapi.ReasonSetupAlreadyCompleted)
	h.clock.Advance(time.Second) // the next key is newer

	expires := timestamppb.New(h.clock.Now().Add(24 * time.Hour))
	created, err := h.client.CreateApiKey(ctx, &accountv1.CreateApiKeyRequest{Name: "live key", Environment: "live", Permissions: []string{"search", "analytics"}, ExpiresAt: expires})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	ak := created.GetApiKey()
	got := []any{ak.GetName(), ak.GetEnvironment(), ak.GetPermissions(), ak.GetRateLimitTier(), ak.GetKeyPrefix(), ak.GetIsActive(),
		ak.GetExpiresAt().AsTime().Equal(expires.AsTime()), created.GetWarning() != "", len(created.GetSecretKey())}
	want := []any{"live key", "live", []string{"search", "analytics"}, "free", created.GetSecretKey()[:30], true, true, true, 63}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}

	list, err := h.client.ListApiKeys(ctx, &accountv1.ListApiKeysRequest{})
	if err != nil || list.GetTotal() != 2 || list.GetApiKeys()[1].GetId() != setup.GetApiKey().GetId() {
		t.Errorf("list = %v, %v; want 2 keys, newest first", list, err)
	}

	name := "renamed"
	upd, err := h.client.UpdateApiKey(ctx, &accountv1.UpdateApiKeyRequest{KeyId: ak.GetId(), Name: &name})
	if err != nil || upd.GetApiKey().GetName() != "renamed" || cmp.Diff([]string{"search", "analytics"}, upd.GetApiKey().GetPermissions()) != "" {
		t.Errorf("update = %v, %v", upd, err)
	}
	pro := "pro"
	_, err = h.client.UpdateApiKey(ctx, &accountv1.UpdateApiKeyRequest{KeyId: ak.GetId(), RateLimitTier: &pro})
	wantOutcome(t, err, codes.PermissionDenied, grpcapi.ReasonInsufficientPrivileges)
	_, err = h.client.CreateApiKey(ctx, &accountv1.CreateApiKeyRequest{Name: "paid", RateLimitTier: "enterprise"})
	wantOutcome(t, err, codes.PermissionDenied, grpcapi.ReasonInsufficientPrivileges)
	_, err = h.client.CreateApiKey(ctx, &accountv1.CreateApiKeyRequest{Name: "x", ExpiresAt: timestamppb.New(h.clock.Now().Add(-time.Hour))})
	wantOutcome(t, err, codes.InvalidArgument, grpcx.ReasonValidation)
	if diff := cmp.Diff([][2]string{{"name", account.CodeTooShort}, {"expiresAt", account.CodeNotInFuture}}, fieldViolations(err)); diff != "" {
		t.Errorf("field violations (-want +got):\n%s", diff)
	}

	v, err := h.client.VerifyApiKey(context.Background(), &accountv1.VerifyApiKeyRequest{ApiKey: created.GetSecretKey()})
	if err != nil {
		t.Fatalf("verify key: %v", err)
	}
	pp := v.GetPrincipal()
	if got := []any{pp.GetUserId(), pp.GetApiKeyId(), pp.GetEnvironment(), pp.GetRateLimitTier(), pp.GetPermissions(), pp.GetSessionId()}; cmp.Diff(
		[]any{r.GetUser().GetId(), ak.GetId(), "live", "free", []string{"search", "analytics"}, ""}, got) != "" {
		t.Errorf("key principal = %v", got)
	}

	used := timestamppb.New(h.clock.Now())
	if _, err := h.client.RecordApiKeyUsage(context.Background(), &accountv1.RecordApiKeyUsageRequest{Deltas: []*accountv1.ApiKeyUsageDelta{
		{ApiKeyId: ak.GetId(), Count: 3, LastUsed: used, LastUsedIp: "127.0.0.1"},
		{ApiKeyId: "unknown", Count: 1},
	}}); err != nil {
		t.Fatalf("record usage: %v", err)
	}
	usage, err := h.client.GetApiKeyUsage(ctx, &accountv1.GetApiKeyUsageRequest{KeyId: ak.GetId()})
	if err != nil {
		t.Fatalf("usage: %v", err)
	}
	u := usage.GetUsage()
	rl := u.GetRateLimitStatus()
	if got := []any{u.GetApiKeyId(), u.GetRequestCount(), u.GetLastUsed().AsTime().Equal(used.AsTime()), rl.GetTier(), rl.GetLimit(), rl.Remaining != nil, rl.GetRemaining(), rl.GetResetTime() != nil}; cmp.Diff(
		[]any{ak.GetId(), uint32(3), true, "free", int32(1000), true, int32(990), true}, got) != "" {
		t.Errorf("usage = %v", got)
	}
	h.limits.err = errors.New("cache down")
	usage, err = h.client.GetApiKeyUsage(ctx, &accountv1.GetApiKeyUsageRequest{KeyId: ak.GetId()})
	if err != nil || usage.GetUsage().GetRateLimitStatus().Remaining != nil || usage.GetUsage().GetRateLimitStatus().GetResetTime() != nil {
		t.Errorf("usage with the cache down = %v, %v; want remaining and resetTime unset", usage, err)
	}

	regen, err := h.client.RegenerateApiKey(ctx, &accountv1.RegenerateApiKeyRequest{KeyId: ak.GetId()})
	if err != nil || regen.GetOldKeyId() != ak.GetId() || regen.GetApiKey().GetName() != "renamed" || regen.GetSecretKey() == "" {
		t.Fatalf("regenerate = %v, %v", regen, err)
	}
	_, err = h.client.VerifyApiKey(context.Background(), &accountv1.VerifyApiKeyRequest{ApiKey: created.GetSecretKey()})
	wantOutcome(t, err, codes.Unauthenticated, grpcapi.ReasonInvalidAPIKey)

	rev, err := h.client.RevokeApiKey(ctx, &accountv1.RevokeApiKeyRequest{KeyId: regen.GetApiKey().GetId()})
	if err != nil || rev.GetKeyId() != regen.GetApiKey().GetId() || rev.GetMessage() == "" {
		t.Errorf("revoke = %v, %v", rev, err)
	}
	_, err = h.client.RevokeApiKey(ctx, &accountv1.RevokeApiKeyRequest{KeyId: regen.GetApiKey().GetId()})
	wantOutcome(t, err, codes.NotFound, grpcapi.ReasonAPIKeyNotFound)
	_, err = h.client.RevokeApiKey(ctx, &accountv1.RevokeApiKeyRequest{})
	wantOutcome(t, err, codes.InvalidArgument, grpcx.ReasonValidation)
}

func TestAnotherUsersKeyAnswersNotFound(t *testing.T) {
	h := newHarness(t)
	owner := h.register(t, "owner@example.com")
	intruder := bearer(h.register(t, "intruder@example.com").GetToken())
	k, err := h.client.CreateApiKey(bearer(owner.GetToken()), &accountv1.CreateApiKeyRequest{Name: "owned"})
	if err != nil {
		t.Fatal(err)
	}
	id := k.GetApiKey().GetId()
	name := "mine now"
	calls := map[string]func() error{
		"UpdateApiKey": func() error {
			_, err := h.client.UpdateApiKey(intruder, &accountv1.UpdateApiKeyRequest{KeyId: id, Name: &name})
			return err
		},
		"RevokeApiKey": func() error {
			_, err := h.client.RevokeApiKey(intruder, &accountv1.RevokeApiKeyRequest{KeyId: id})
			return err
		},
		"GetApiKeyUsage": func() error {
			_, err := h.client.GetApiKeyUsage(intruder, &accountv1.GetApiKeyUsageRequest{KeyId: id})
			return err
		},
		"RegenerateApiKey": func() error {
			_, err := h.client.RegenerateApiKey(intruder, &accountv1.RegenerateApiKeyRequest{KeyId: id})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) { wantOutcome(t, call(), codes.NotFound, grpcapi.ReasonAPIKeyNotFound) })
	}
}

func TestVerifyApiKeyAnswersV1Codes(t *testing.T) {
	h := newHarness(t)
	r := h.register(t, "verifykey@example.com")
	ctx := bearer(r.GetToken())
	exp, err := h.client.CreateApiKey(ctx, &accountv1.CreateApiKeyRequest{Name: "expiring", ExpiresAt: timestamppb.New(h.clock.Now().Add(time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := h.client.CreateApiKey(ctx, &accountv1.CreateApiKeyRequest{Name: "revoked"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.RevokeApiKey(ctx, &accountv1.RevokeApiKeyRequest{KeyId: rev.GetApiKey().GetId()}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Minute)
	tests := []struct {
		name, key, reason string
	}{
		{"malformed", "altus4_sk_live_XYZ", grpcapi.ReasonInvalidAPIKeyFormat},
		{"revoked", rev.GetSecretKey(), grpcapi.ReasonInvalidAPIKey},
		{"expired", exp.GetSecretKey(), grpcapi.ReasonAPIKeyExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.client.VerifyApiKey(context.Background(), &accountv1.VerifyApiKeyRequest{ApiKey: tt.key})
			wantOutcome(t, err, codes.Unauthenticated, tt.reason)
		})
	}
}

func TestDeactivationLocksOutOverGRPC(t *testing.T) {
	h := newHarness(t)
	r := h.register(t, "leaving@example.com")
	ctx := bearer(r.GetToken())
	k, err := h.client.CreateApiKey(ctx, &accountv1.CreateApiKeyRequest{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := h.client.DeactivateAccount(ctx, &accountv1.DeactivateAccountRequest{}); err != nil || !d.GetSuccess() {
		t.Fatalf("deactivate = %v, %v", d, err)
	}
	_, err = h.client.VerifyToken(context.Background(), &accountv1.VerifyTokenRequest{Token: r.GetToken()})
	wantOutcome(t, err, codes.Unauthenticated, grpcapi.ReasonInvalidToken)
	_, err = h.client.VerifyApiKey(context.Background(), &accountv1.VerifyApiKeyRequest{ApiKey: k.GetSecretKey()})
	wantOutcome(t, err, codes.Unauthenticated, grpcapi.ReasonInvalidAPIKey)
	// An assertion minted before the deactivation no longer acts for the user.
	p := identity.Principal{UserID: r.GetUser().GetId(), Role: "user", SessionID: "old"}
	_, err = h.client.GetProfile(h.asserted(p), &accountv1.GetProfileRequest{})
	wantOutcome(t, err, codes.Unauthenticated, grpcapi.ReasonInvalidToken)
}

func TestMigrationStatusOverGRPC(t *testing.T) {
	h := newHarness(t)
	r := h.register(t, "status@example.com")
	st, err := h.client.GetMigrationStatus(bearer(r.GetToken()), &accountv1.GetMigrationStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{st.GetUserId(), st.GetHasMigrated(), st.GetRecommendedAction() != "", st.GetDocumentation()}
	if diff := cmp.Diff([]any{r.GetUser().GetId(), false, true, "/api/v1/openapi.json"}, got); diff != "" {
		t.Errorf("migration status (-want +got):\n%s", diff)
	}
}

func TestLookupUsersIsForAdminCallersOnly(t *testing.T) {
	h := newHarness(t)
	r := h.register(t, "looked-up@example.com")
	req := &accountv1.LookupUsersRequest{Ids: []string{r.GetUser().GetId()}}
	_, err := h.client.LookupUsers(context.Background(), req)
	wantOutcome(t, err, codes.Unauthenticated, grpcapi.ReasonNoToken)
	_, err = h.client.LookupUsers(h.asserted(identity.Principal{UserID: r.GetUser().GetId(), Role: identity.RoleUser}), req)
	wantOutcome(t, err, codes.PermissionDenied, grpcapi.ReasonInsufficientPrivileges)
	got, err := h.client.LookupUsers(h.asserted(identity.Principal{UserID: "00000000-0000-0000-0000-0000000000ad", Role: identity.RoleAdmin}), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.GetUsers()) != 1 || got.GetUsers()[0].GetEmail() != "looked-up@example.com" || got.GetUsers()[0].GetRole() != identity.RoleUser {
		t.Errorf("users = %v", got.GetUsers())
	}
}
