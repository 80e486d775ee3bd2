// Package account is the logic of the account service: users and their
// passwords, session tokens (JWTs whose ids are revocable rows), and API
// keys. It holds no gRPC or generated types; internal/grpcapi adapts it to
// altus.account.v1, and the services it consults (dbrouter for a user's data
// sources, cache for the live rate-limit window) sit behind the small
// interfaces declared here.
package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/services/account/internal/store"
)

// BcryptCost is the cost of every password hash Altus writes (v1-compatible).
const BcryptCost = 12

// Defaults of Options.
const (
	// DefaultTokenTTL is how long a session token lives (v1: seven days).
	DefaultTokenTTL = 7 * 24 * time.Hour
	// DefaultDependencyTimeout bounds each call to dbrouter or cache, whose
	// answers only decorate a response and must never fail or stall it.
	DefaultDependencyTimeout = 2 * time.Second
	// MaxActiveKeys is how many active API keys one user may hold.
	MaxActiveKeys = 100
	// lastActiveInterval is how stale users.last_active may get before a
	// verification refreshes it: one write per user per interval.
	lastActiveInterval = time.Minute
)

// DataSources lists the data sources of the user the context acts for (a
// signed identity assertion travels with ctx). Implemented by dbrouterclient.
type DataSources interface {
	DataSourceIDs(ctx context.Context) ([]string, error)
}

// RateWindow is the live state of a rate-limit window.
type RateWindow struct {
	Remaining int
	ResetTime time.Time
}

// RateLimits reads a rate-limit window without counting a request.
// Implemented by cacheclient.
type RateLimits interface {
	PeekRateLimit(ctx context.Context, key string, limit int, window time.Duration) (RateWindow, error)
}

// Options configure New.
type Options struct {
	// Store holds the tables.
	Store *store.Store
	// Secret is JWT_SECRET: it signs session tokens (HS256).
	Secret string
	// Signer mints the identity assertion the service presents to dbrouter
	// when it acts for a user.
	Signer *identity.Signer
	// TokenTTL is the lifetime of session tokens (DefaultTokenTTL when zero).
	TokenTTL time.Duration
	// DataSources answers User.connectedDatabases; nil answers an empty list.
	DataSources DataSources
	// RateLimits answers the live rate-limit state of keys; nil leaves it unknown.
	RateLimits RateLimits
	// DependencyTimeout bounds each DataSources and RateLimits call
	// (DefaultDependencyTimeout when zero).
	DependencyTimeout time.Duration
	// Log receives warnings about degraded dependencies.
	Log *slog.Logger
	// Now is the clock (time.Now when nil); tests move it to expire tokens and keys.
	Now func() time.Time
	// TestOnlyBcryptCost lowers the bcrypt cost so that unit tests run fast.
	// Zero (always, outside tests) means BcryptCost.
	TestOnlyBcryptCost int
}

// Service implements the account rules.
type Service struct {
	store       *store.Store
	secret      []byte
	signer      *identity.Signer
	ttl         time.Duration
	dataSources DataSources
	rateLimits  RateLimits
	depTimeout  time.Duration
	log         *slog.Logger
	now         func() time.Time
	cost        int
	// dummyHash is compared against when an email is unknown, so that a
	// failed login costs the same time whether or not the email exists.
	dummyHash []byte
}

// New returns a Service. It computes one bcrypt hash (for timing-safe
// logins), which takes a fraction of a second at cost 12.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("account: no store")
	}
	if o.Secret == "" {
		return nil, errors.New("account: no JWT secret")
	}
	if o.Signer == nil {
		return nil, errors.New("account: no identity signer")
	}
	s := &Service{
		store:       o.Store,
		secret:      []byte(o.Secret),
		signer:      o.Signer,
		ttl:         o.TokenTTL,
		dataSources: o.DataSources,
		rateLimits:  o.RateLimits,
		depTimeout:  o.DependencyTimeout,
		log:         o.Log,
		now:         o.Now,
		cost:        o.TestOnlyBcryptCost,
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTokenTTL
	}
	if s.depTimeout <= 0 {
		s.depTimeout = DefaultDependencyTimeout
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	clock := s.now
	if clock == nil {
		clock = time.Now
	}
	// The database keeps milliseconds (DATETIME(3)); answers carry the same
	// precision, so a time reads the same when created and when listed.
	s.now = func() time.Time { return clock().UTC().Truncate(time.Millisecond) }
	if s.cost == 0 {
		s.cost = BcryptCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte("altus dummy password for unknown emails"), s.cost)
	if err != nil {
		return nil, fmt.Errorf("account: dummy hash: %w", err)
	}
	s.dummyHash = h
	return s, nil
}

// Error is a domain error: Error() names it for logs and errors.Is, and
// PublicMessage() says to the caller what is wrong and what to do (the
// adapter's error table sends it).
type Error struct {
	name   string
	public string
}

func (e *Error) Error() string { return "account: " + e.name }

// PublicMessage is the message for people.
func (e *Error) PublicMessage() string { return e.public }

// Domain errors. The adapter maps each to a gRPC code and a v1 reason.
var (
	ErrEmailTaken = &Error{"email taken",
		"An account with this email already exists; log in instead, or register with another email."}
	ErrAuthFailed = &Error{"authentication failed",
		"The email or password is incorrect."}
	ErrAccountDeactivated = &Error{"account deactivated",
		"This account has been deactivated and can no longer log in."}
	ErrInvalidToken = &Error{"invalid token",
		"The token is not valid; log in again to get a new one."}
	ErrTokenExpired = &Error{"token expired",
		"The token has expired; log in again or refresh it before it expires."}
	ErrSessionEnded = &Error{"session ended",
		"This session has ended; log in again."}
	ErrAccountUnavailable = &Error{"account unavailable",
		"This account no longer exists or has been deactivated; its tokens and API keys no longer work."}
	ErrSessionRequired = &Error{"session required",
		"This action needs a session token (log in to get one); an API key cannot be used for it."}
	ErrInvalidAPIKeyFormat = &Error{"invalid api key format",
		"The API key is malformed: it must be altus4_sk_test_ or altus4_sk_live_ followed by 48 lowercase hexadecimal characters."}
	ErrInvalidAPIKey = &Error{"invalid api key",
		"The API key is not valid: it is unknown or has been revoked."}
	ErrAPIKeyExpired = &Error{"api key expired",
		"The API key has expired; create a new one with POST /api/v1/keys or regenerate it."}
	ErrAPIKeyNotFound = &Error{"api key not found",
		"No active API key with this id belongs to you; list your keys with GET /api/v1/keys."}
	ErrInsufficientPrivileges = &Error{"insufficient privileges",
		"Only administrators can give a key the pro or enterprise tier; use the free tier."}
	ErrAdminRequired = &Error{"admin role required",
		"Only administrators can look users up."}
	ErrSetupCompleted = &Error{"setup already completed",
		"You already have an API key; create more with POST /api/v1/keys."}
	ErrKeyLimit = &Error{"api key limit reached",
		fmt.Sprintf("You already have %d active API keys; revoke one (DELETE /api/v1/keys/{keyId}) before creating another.", MaxActiveKeys)}
)

// User is an account as stored.
type User = store.User

// APIKey is an API key as stored (never with its secret).
type APIKey = store.APIKey

// UsageDelta is a batch of requests made with one key.
type UsageDelta = store.UsageDelta

// Profile is a user as the API shows it: with the ids of their data sources.
type Profile struct {
	User               User
	ConnectedDatabases []string
}

// Auth is the answer of register, login and refresh: who, and a session token.
type Auth struct {
	Profile   Profile
	Token     string
	ExpiresAt time.Time
}

// connectedDatabases asks dbrouter, acting as u, for u's data sources. It
// never fails: a slow or unreachable dbrouter yields an empty list and a
// warning, because the account routes must not depend on it.
func (s *Service) connectedDatabases(ctx context.Context, u User, sessionID string) []string {
	if s.dataSources == nil {
		return []string{}
	}
	p := identity.Principal{UserID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, SessionID: sessionID}
	ctx = identity.With(ctx, p, s.signer.Sign(p, identity.AssertionTTL))
	ctx, cancel := context.WithTimeout(ctx, s.depTimeout)
	defer cancel()
	ids, err := s.dataSources.DataSourceIDs(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "connected databases unavailable: answering an empty list", "user_id", u.ID, "error", err.Error())
		return []string{}
	}
	if ids == nil {
		ids = []string{}
	}
	return ids
}

func (s *Service) profile(ctx context.Context, u User, sessionID string) Profile {
	return Profile{User: u, ConnectedDatabases: s.connectedDatabases(ctx, u, sessionID)}
}

// activeUser loads the caller's user; a deleted or deactivated user is
// ErrAccountUnavailable (their assertion may outlive the deactivation by
// seconds).
func (s *Service) activeUser(ctx context.Context, p identity.Principal) (User, error) {
	u, err := s.store.UserByID(ctx, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return User{}, ErrAccountUnavailable
	}
	if err != nil {
		return User{}, fmt.Errorf("account: load caller: %w", err)
	}
	if !u.IsActive {
		return User{}, ErrAccountUnavailable
	}
	return u, nil
}

// requireSessionCaller refuses API-key callers: managing an account or its
// keys needs the user's own session.
func requireSessionCaller(p identity.Principal) error {
	if p.ViaAPIKey() {
		return ErrSessionRequired
	}
	return nil
}

// PruneSessions deletes sessions that expired more than a day ago, in
// batches, and reports how many it deleted. Expired sessions can no longer
// verify; the day of grace keeps them for inspection.
func (s *Service) PruneSessions(ctx context.Context) (int64, error) {
	const batch = 1000
	var total int64
	before := s.now().Add(-24 * time.Hour)
	for {
		n, err := s.store.PruneSessions(ctx, before, batch)
		total += n
		if err != nil {
			return total, fmt.Errorf("account: prune sessions: %w", err)
		}
		if n < batch {
			return total, nil
		}
	}
}

// RunPruner prunes expired sessions every interval until ctx ends.
func (s *Service) RunPruner(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.PruneSessions(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "pruning expired sessions failed", "error", err.Error())
			} else if n > 0 {
				s.log.InfoContext(ctx, "pruned expired sessions", "count", n)
			}
		}
	}
}
