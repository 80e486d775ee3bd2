// Package identity is who a request acts for, and how that travels between
// the suite's services.
//
// The edge (or the first service a client reaches) authenticates the caller
// once and attaches a short-lived assertion, signed with a key derived from
// JWT_SECRET, to the gRPC metadata. Every service verifies the assertion
// instead of re-authenticating, and forwards it on the calls it makes, so a
// request carries one identity end to end and a service reached directly
// cannot be told "I am user X" by someone who does not hold the secret.
package identity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// Roles.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// API key permissions.
const (
	PermSearch    = "search"
	PermAnalytics = "analytics"
	PermAdmin     = "admin"
)

// MetadataKey is the gRPC metadata key that carries the signed assertion.
const MetadataKey = "x-altus-identity"

// Principal is an authenticated caller.
type Principal struct {
	UserID string `json:"uid"`
	Email  string `json:"email,omitempty"`
	Name   string `json:"name,omitempty"`
	Role   string `json:"role"`
	// SessionID is the JWT id when the caller presented a session token.
	SessionID string `json:"sid,omitempty"`
	// ExpiresAt is when the token or key presented expires (zero: never).
	ExpiresAt time.Time `json:"exp_at,omitzero"`
	// APIKeyID is the key when the caller presented an API key.
	APIKeyID    string   `json:"kid,omitempty"`
	Permissions []string `json:"perms,omitempty"`
	Tier        string   `json:"tier,omitempty"`
	Environment string   `json:"env,omitempty"`
}

// IsAdmin reports whether the user has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// ViaAPIKey reports whether the caller authenticated with an API key.
func (p Principal) ViaAPIKey() bool { return p.APIKeyID != "" }

// Can reports whether an API-key caller holds perm ("admin" implies every
// permission). Session callers act as the user and hold every key permission.
func (p Principal) Can(perm string) bool {
	if !p.ViaAPIKey() {
		return true
	}
	return slices.Contains(p.Permissions, perm) || slices.Contains(p.Permissions, PermAdmin)
}

// Errors of Verify.
var (
	ErrMalformed = errors.New("identity: malformed assertion")
	ErrSignature = errors.New("identity: bad assertion signature")
	ErrExpired   = errors.New("identity: assertion expired")
)

// Signer signs and verifies assertions. It remembers the assertions it has
// verified (until they expire) and the ones it has signed per caller, so
// that a busy caller costs one signature and one verification per few
// minutes, not per request.
type Signer struct {
	key []byte
	now func() time.Time

	mu       sync.Mutex
	verified map[string]claims
	signed   map[string]signedEntry
}

type signedEntry struct {
	p         Principal
	assertion string
	exp       time.Time
}

// cacheLimit bounds the remembered assertions; past it they are forgotten.
const cacheLimit = 10000

// NewSigner derives the assertion key from secret (JWT_SECRET), so that an
// assertion can never be mistaken for a session token or vice versa.
func NewSigner(secret string) *Signer {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("altus internal identity assertion v1"))
	return &Signer{key: mac.Sum(nil), now: time.Now, verified: map[string]claims{}, signed: map[string]signedEntry{}}
}

type claims struct {
	Principal
	Exp int64 `json:"exp"`
}

// Sign returns an assertion for p valid for ttl.
func (s *Signer) Sign(p Principal, ttl time.Duration) string {
	body, _ := json.Marshal(claims{Principal: p, Exp: s.now().Add(ttl).Unix()})
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// SignFor returns an assertion for p valid for at least half of ttl,
// reusing the one last signed under key (e.g. a hash of the caller's
// credential) while p is unchanged.
func (s *Signer) SignFor(key string, p Principal, ttl time.Duration) string {
	now := s.now()
	s.mu.Lock()
	e, ok := s.signed[key]
	s.mu.Unlock()
	if ok && now.Add(ttl/2).Before(e.exp) && samePrincipal(e.p, p) {
		return e.assertion
	}
	a := s.Sign(p, ttl)
	s.mu.Lock()
	if s.signed == nil || len(s.signed) >= cacheLimit {
		s.signed = map[string]signedEntry{}
	}
	s.signed[key] = signedEntry{p: p, assertion: a, exp: now.Add(ttl)}
	s.mu.Unlock()
	return a
}

func samePrincipal(a, b Principal) bool {
	return a.UserID == b.UserID && a.Email == b.Email && a.Name == b.Name && a.Role == b.Role &&
		a.SessionID == b.SessionID && a.ExpiresAt.Equal(b.ExpiresAt) && a.APIKeyID == b.APIKeyID &&
		slices.Equal(a.Permissions, b.Permissions) && a.Tier == b.Tier && a.Environment == b.Environment
}

// Verify checks an assertion and returns its principal.
func (s *Signer) Verify(assertion string) (Principal, error) {
	s.mu.Lock()
	c, ok := s.verified[assertion]
	s.mu.Unlock()
	if ok {
		if s.now().Unix() > c.Exp {
			return Principal{}, ErrExpired
		}
		return c.Principal, nil
	}
	c, err := s.verify(assertion)
	if err != nil {
		return Principal{}, err
	}
	s.mu.Lock()
	if s.verified == nil || len(s.verified) >= cacheLimit {
		s.verified = map[string]claims{}
	}
	s.verified[assertion] = c
	s.mu.Unlock()
	return c.Principal, nil
}

func (s *Signer) verify(assertion string) (claims, error) {
	payload, sig, ok := strings.Cut(assertion, ".")
	if !ok {
		return claims{}, ErrMalformed
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return claims{}, ErrMalformed
	}
	if !hmac.Equal(got, s.mac(payload)) {
		return claims{}, ErrSignature
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return claims{}, ErrMalformed
	}
	var c claims
	if err := json.Unmarshal(body, &c); err != nil || c.UserID == "" {
		return claims{}, ErrMalformed
	}
	if s.now().Unix() > c.Exp {
		return claims{}, ErrExpired
	}
	return c, nil
}

func (s *Signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

type ctxKey struct{}

type carried struct {
	p         Principal
	assertion string
}

// With returns a context acting for p; assertion is forwarded on outgoing calls.
func With(ctx context.Context, p Principal, assertion string) context.Context {
	return context.WithValue(ctx, ctxKey{}, carried{p: p, assertion: assertion})
}

// From returns the principal ctx acts for.
func From(ctx context.Context) (Principal, bool) {
	c, ok := ctx.Value(ctxKey{}).(carried)
	return c.p, ok
}

// Assertion returns the signed assertion ctx carries, or "".
func Assertion(ctx context.Context) string {
	c, _ := ctx.Value(ctxKey{}).(carried)
	return c.assertion
}
