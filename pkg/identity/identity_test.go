package identity

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSignVerifyRoundTripsThePrincipal(t *testing.T) {
	s := NewSigner(strings.Repeat("s", 32))
	want := Principal{UserID: "u1", Email: "a@b.c", Role: RoleUser, APIKeyID: "k1", Permissions: []string{PermSearch}, Tier: "free", Environment: "test"}
	got, err := s.Verify(s.Sign(want, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("principal (-want +got):\n%s", diff)
	}
}

func TestVerifyRejectsForgedTamperedAndExpiredAssertions(t *testing.T) {
	s := NewSigner(strings.Repeat("s", 32))
	other := NewSigner(strings.Repeat("o", 32))
	good := s.Sign(Principal{UserID: "u1", Role: RoleUser}, time.Minute)
	payload, sig, _ := strings.Cut(good, ".")
	admin := s.Sign(Principal{UserID: "u1", Role: RoleAdmin}, time.Minute)
	adminPayload, _, _ := strings.Cut(admin, ".")

	expired := &Signer{key: s.key, now: func() time.Time { return time.Now().Add(-time.Hour) }}
	tests := []struct {
		name      string
		assertion string
		want      error
	}{
		{"signed with another secret", other.Sign(Principal{UserID: "u1"}, time.Minute), ErrSignature},
		{"payload swapped to claim admin", adminPayload + "." + sig, ErrSignature},
		{"no signature", payload, ErrMalformed},
		{"garbage", "!!!.???", ErrMalformed},
		{"expired", expired.Sign(Principal{UserID: "u1"}, time.Minute), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Verify(tt.assertion); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCanTreatsAdminPermissionAsEveryPermission(t *testing.T) {
	tests := []struct {
		name string
		p    Principal
		perm string
		want bool
	}{
		{"session caller acts as the user", Principal{UserID: "u"}, PermAnalytics, true},
		{"key with the permission", Principal{UserID: "u", APIKeyID: "k", Permissions: []string{PermSearch}}, PermSearch, true},
		{"key without the permission", Principal{UserID: "u", APIKeyID: "k", Permissions: []string{PermSearch}}, PermAnalytics, false},
		{"admin key", Principal{UserID: "u", APIKeyID: "k", Permissions: []string{PermAdmin}}, PermAnalytics, true},
	}
	for _, tt := range tests {
		if got := tt.p.Can(tt.perm); got != tt.want {
			t.Errorf("%s: Can(%s) = %v, want %v", tt.name, tt.perm, got, tt.want)
		}
	}
}

func TestSignForReusesAnAssertionUntilThePrincipalOrHalfItsLifeChanges(t *testing.T) {
	now := time.Now()
	s := NewSigner(strings.Repeat("s", 32))
	s.now = func() time.Time { return now }
	p := Principal{UserID: "u1", Role: RoleUser, APIKeyID: "k1", Permissions: []string{PermSearch}, Tier: "free"}
	a := s.SignFor("key-a", p, time.Minute)
	if b := s.SignFor("key-a", p, time.Minute); b != a {
		t.Fatal("the same caller got a new assertion at once")
	}
	changed := p
	changed.Tier = "pro"
	if b := s.SignFor("key-a", changed, time.Minute); b == a {
		t.Fatal("a changed principal kept the old assertion")
	} else if got, err := s.Verify(b); err != nil || got.Tier != "pro" {
		t.Fatalf("new assertion verifies to %+v, %v", got, err)
	}
	now = now.Add(31 * time.Second)
	if b := s.SignFor("key-a", changed, time.Minute); b == a {
		t.Fatal("an assertion past half its life was reused")
	}
}

func TestVerifyRemembersValidAssertionsButNotPastTheirExpiry(t *testing.T) {
	now := time.Now()
	s := NewSigner(strings.Repeat("s", 32))
	s.now = func() time.Time { return now }
	a := s.Sign(Principal{UserID: "u1", Role: RoleUser}, time.Minute)
	if _, err := s.Verify(a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(a); err != nil {
		t.Fatalf("remembered assertion: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.Verify(a); !errors.Is(err, ErrExpired) {
		t.Fatalf("remembered assertion after expiry: %v, want ErrExpired", err)
	}
	if _, err := s.Verify(a[:len(a)-2] + "xx"); err == nil {
		t.Fatal("a tampered assertion verified")
	}
}
