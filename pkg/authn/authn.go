// Package authn authenticates bearer credentials (session tokens and API
// keys) through the account service, and caches the answers briefly so that
// the edge does not pay a round trip per request. A revoked token or key, or
// a deactivated user, stops working within the cache's time to live.
package authn

import (
	"context"
	"crypto/sha256"
	"strings"
	"sync"
	"time"

	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	"github.com/altus4/altus/pkg/identity"
)

// APIKeyPrefix starts every API key.
const APIKeyPrefix = "altus4_sk_"

// IsAPIKey reports whether a bearer credential looks like an API key rather
// than a session token.
func IsAPIKey(bearer string) bool { return strings.HasPrefix(bearer, APIKeyPrefix) }

// Authenticator checks credentials with the account service.
type Authenticator struct {
	client  accountv1.AccountServiceClient
	ttl     time.Duration
	maxSize int
	now     func() time.Time

	mu      sync.Mutex
	entries map[[32]byte]entry
}

type entry struct {
	p       identity.Principal
	expires time.Time
}

// New returns an Authenticator caching successful answers for ttl (0 disables
// the cache), holding at most maxSize of them.
func New(client accountv1.AccountServiceClient, ttl time.Duration, maxSize int) *Authenticator {
	return &Authenticator{client: client, ttl: ttl, maxSize: maxSize, now: time.Now, entries: map[[32]byte]entry{}}
}

// Authenticate implements identity.Authenticator. Errors are the account
// service's status errors (UNAUTHENTICATED with a v1 reason, or UNAVAILABLE).
func (a *Authenticator) Authenticate(ctx context.Context, bearer string) (identity.Principal, error) {
	key := sha256.Sum256([]byte(bearer))
	now := a.now()
	if a.ttl > 0 {
		a.mu.Lock()
		e, ok := a.entries[key]
		a.mu.Unlock()
		if ok && now.Before(e.expires) {
			return e.p, nil
		}
	}
	var pp *accountv1.Principal
	if IsAPIKey(bearer) {
		resp, err := a.client.VerifyApiKey(ctx, &accountv1.VerifyApiKeyRequest{ApiKey: bearer})
		if err != nil {
			return identity.Principal{}, err
		}
		pp = resp.GetPrincipal()
	} else {
		resp, err := a.client.VerifyToken(ctx, &accountv1.VerifyTokenRequest{Token: bearer})
		if err != nil {
			return identity.Principal{}, err
		}
		pp = resp.GetPrincipal()
	}
	p := FromProto(pp)
	if a.ttl > 0 {
		exp := now.Add(a.ttl)
		if !p.ExpiresAt.IsZero() && p.ExpiresAt.Before(exp) {
			exp = p.ExpiresAt
		}
		a.mu.Lock()
		if len(a.entries) >= a.maxSize {
			a.evictLocked(now)
		}
		a.entries[key] = entry{p: p, expires: exp}
		a.mu.Unlock()
	}
	return p, nil
}

// evictLocked drops expired entries, and if none were, an arbitrary half.
func (a *Authenticator) evictLocked(now time.Time) {
	for k, e := range a.entries {
		if !now.Before(e.expires) {
			delete(a.entries, k)
		}
	}
	if len(a.entries) < a.maxSize {
		return
	}
	n := len(a.entries) / 2
	for k := range a.entries {
		if n == 0 {
			break
		}
		delete(a.entries, k)
		n--
	}
}

// FromProto converts the account service's principal.
func FromProto(p *accountv1.Principal) identity.Principal {
	out := identity.Principal{
		UserID:      p.GetUserId(),
		Email:       p.GetEmail(),
		Name:        p.GetName(),
		Role:        p.GetRole(),
		SessionID:   p.GetSessionId(),
		APIKeyID:    p.GetApiKeyId(),
		Permissions: p.GetPermissions(),
		Tier:        p.GetRateLimitTier(),
		Environment: p.GetEnvironment(),
	}
	if p.GetExpiresAt() != nil {
		out.ExpiresAt = p.GetExpiresAt().AsTime()
	}
	return out
}

// Defaults for services that authenticate direct gRPC clients.
const (
	DefaultTTL       = 5 * time.Second
	DefaultCacheSize = 10000
)
