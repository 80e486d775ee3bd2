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
