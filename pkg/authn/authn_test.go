package authn

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
)

const apiKey = "altus4_sk_live_0123456789abcdef0123456789abcdef0123456789abcdef"

// account answers VerifyToken and VerifyApiKey as the account service would,
// counting the calls; revoked credentials answer UNAUTHENTICATED.
type account struct {
	accountv1.AccountServiceClient // other methods are not called

	mu       sync.Mutex
	tokens   int
	keys     int
	revoked  map[string]bool
	expires  time.Time
	unavail  bool
	lastSeen string
}

func (a *account) answer(credential, kind string) (*accountv1.Principal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastSeen = kind
	if a.unavail {
		return nil, status.Error(codes.Unavailable, "account down")
	}
	if a.revoked[credential] {
		return nil, status.Error(codes.Unauthenticated, "revoked")
	}
	p := &accountv1.Principal{UserId: "u-1", Role: "user", Permissions: []string{"search"}, RateLimitTier: "free"}
	if kind == "key" {
		p.ApiKeyId = "k-1"
	} else {
		p.SessionId = "s-1"
	}
	if !a.expires.IsZero() {
		p.ExpiresAt = timestamppb.New(a.expires)
	}
	return p, nil
}

func (a *account) VerifyToken(_ context.Context, in *accountv1.VerifyTokenRequest, _ ...grpc.CallOption) (*accountv1.VerifyTokenResponse, error) {
	a.mu.Lock()
	a.tokens++
	a.mu.Unlock()
	p, err := a.answer(in.GetToken(), "token")
	if err != nil {
		return nil, err
	}
	return &accountv1.VerifyTokenResponse{Principal: p}, nil
}

func (a *account) VerifyApiKey(_ context.Context, in *accountv1.VerifyApiKeyRequest, _ ...grpc.CallOption) (*accountv1.VerifyApiKeyResponse, error) {
	a.mu.Lock()
	a.keys++
	a.mu.Unlock()
	p, err := a.answer(in.GetApiKey(), "key")
	if err != nil {
		return nil, err
	}
	return &accountv1.VerifyApiKeyResponse{Principal: p}, nil
}

func (a *account) calls() (tokens, keys int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tokens, a.keys
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newAuth(acc *account, ttl time.Duration, size int) (*Authenticator, *clock) {
	c := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	a := New(acc, ttl, size)
	a.now = c.now
	return a, c
}

func TestKeysAndTokensAreVerifiedByTheirOwnCall(t *testing.T) {
	acc := &account{}
	a, _ := newAuth(acc, 0, 10)
	p, err := a.Authenticate(context.Background(), apiKey)
	if err != nil || p.APIKeyID != "k-1" || acc.lastSeen != "key" {
		t.Fatalf("api key: %+v %v (verified as %s)", p, err, acc.lastSeen)
	}
	p, err = a.Authenticate(context.Background(), "eyJhbGciOiJIUzI1NiJ9.e30.sig")
	if err != nil || p.SessionID != "s-1" || acc.lastSeen != "token" {
		t.Fatalf("token: %+v %v (verified as %s)", p, err, acc.lastSeen)
	}
}

// A verified credential is trusted for the TTL without asking the account
// service, then asked about again, so a revocation holds within the TTL.
func TestAVerifiedCredentialIsCachedForTheTTLAndARevocationHoldsAfterIt(t *testing.T) {
	acc := &account{revoked: map[string]bool{}}
	a, clk := newAuth(acc, 5*time.Second, 10)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := a.Authenticate(ctx, apiKey); err != nil {
			t.Fatal(err)
		}
		clk.advance(time.Second)
	}
	if _, keys := acc.calls(); keys != 1 {
		t.Fatalf("account asked %d times within the TTL, want 1", keys)
	}

	acc.mu.Lock()
	acc.revoked[apiKey] = true
	acc.mu.Unlock()
	clk.advance(2 * time.Second) // 5s after the first answer
	_, err := a.Authenticate(ctx, apiKey)
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("a revoked key after the TTL: err = %v, want UNAUTHENTICATED", err)
	}
	if _, keys := acc.calls(); keys != 2 {
		t.Fatalf("account asked %d times, want 2", keys)
	}
}

func TestTheCacheNeverOutlivesTheCredentialsOwnExpiry(t *testing.T) {
	acc := &account{}
	a, clk := newAuth(acc, 5*time.Second, 10)
	acc.expires = clk.now().Add(time.Second)
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, apiKey); err != nil {
		t.Fatal(err)
	}
	clk.advance(1500 * time.Millisecond)
	acc.mu.Lock()
	acc.revoked = map[string]bool{apiKey: true} // expired, as the account service would say
	acc.mu.Unlock()
	if _, err := a.Authenticate(ctx, apiKey); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("an expired key was served from the cache: err = %v", err)
	}
}

func TestFailuresAreNeverCached(t *testing.T) {
	acc := &account{unavail: true}
	a, _ := newAuth(acc, 5*time.Second, 10)
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, apiKey); status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want UNAVAILABLE passed through", err)
	}
	acc.mu.Lock()
	acc.unavail = false
	acc.mu.Unlock()
	if _, err := a.Authenticate(ctx, apiKey); err != nil {
		t.Fatalf("the account service answers again, but: %v", err)
	}
	if _, keys := acc.calls(); keys != 2 {
		t.Fatalf("account asked %d times, want 2", keys)
	}
}

func TestAZeroTTLAsksTheAccountServiceEveryTime(t *testing.T) {
	acc := &account{}
	a, _ := newAuth(acc, 0, 10)
	for i := 0; i < 3; i++ {
		if _, err := a.Authenticate(context.Background(), apiKey); err != nil {
			t.Fatal(err)
		}
	}
	if _, keys := acc.calls(); keys != 3 {
		t.Fatalf("account asked %d times, want 3", keys)
	}
}

func TestTheCacheHoldsAtMostItsSize(t *testing.T) {
	acc := &account{}
	a, _ := newAuth(acc, time.Minute, 8)
	for i := 0; i < 100; i++ {
		tok := "token-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if _, err := a.Authenticate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		a.mu.Lock()
		n := len(a.entries)
		a.mu.Unlock()
		if n > 8 {
			t.Fatalf("%d entries after %d credentials, want at most 8", n, i+1)
		}
	}
}
