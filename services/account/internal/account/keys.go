package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/ratelimit"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/account/internal/store"
)

// Key environments.
const (
	EnvTest = "test"
	EnvLive = "live"
)

// API key shape: "altus4_sk_{test|live}_" + 48 lowercase hex (24 random
// bytes), 63 characters; the first 30 are its prefix, stored in clear to
// find it.
const (
	keyRandomBytes = 24
	// KeyPrefixLength is how many leading characters of a key are stored and shown.
	KeyPrefixLength = 30
	minKeyNameChars = 3
	maxKeyNameChars = 100
)

// Warning is said with every new secret.
const Warning = "Store this key securely: it is shown only now and cannot be retrieved again."

var keyShape = regexp.MustCompile(`^altus4_sk_(test|live)_[0-9a-f]{48}$`)

// permissionOrder lists the valid permissions.
var permissionOrder = []string{identity.PermSearch, identity.PermAnalytics, identity.PermAdmin}

// NewKey is an API key just made: the stored row, and its secret, shown once.
type NewKey struct {
	Key      APIKey
	Secret   string
	Warning  string
	OldKeyID string
}

// KeyInput describes a key to create.
type KeyInput struct {
	// Name is 3 to 100 characters.
	Name string
	// Environment is "test" (default when empty) or "live".
	Environment string
	// Permissions default to ["search"]; duplicates are dropped.
	Permissions []string
	// Tier is "free" (default when empty), "pro" or "enterprise"; the latter
	// two need the admin role.
	Tier string
	// ExpiresAt is zero for a key that does not expire; otherwise in the future.
	ExpiresAt time.Time
}

// KeyUpdate carries the fields of a key to change; nil or empty fields stay.
type KeyUpdate struct {
	KeyID       string
	Name        *string
	Permissions []string
	Tier        *string
	ExpiresAt   *time.Time
}

func hashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// mintKey returns a fresh key row for userID (settings from in, already
// validated) and its secret.
func (s *Service) mintKey(userID string, in KeyInput) (APIKey, string) {
	b := make([]byte, keyRandomBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	secret := "altus4_sk_" + in.Environment + "_" + hex.EncodeToString(b)
	now := s.now().UTC()
	return APIKey{
		ID:          uuid.NewString(),
		UserID:      userID,
		KeyPrefix:   secret[:KeyPrefixLength],
		KeyHash:     hashKey(secret),
		Name:        in.Name,
		Environment: in.Environment,
		Permissions: in.Permissions,
		Tier:        in.Tier,
		ExpiresAt:   in.ExpiresAt,
		IsActive:    true,
		CreatedAt:   now,
		UpdatedAt:   now,
	}, secret
}

func checkKeyName(c *validate.Collector, name string) {
	n := utf8.RuneCountInString(name)
	switch {
	case name == "":
		c.Add("name", CodeRequired, "Give the key a name of at least %d characters.", minKeyNameChars)
	case n < minKeyNameChars:
		c.Add("name", CodeTooShort, "The key name must be at least %d characters.", minKeyNameChars)
	case n > maxKeyNameChars:
		c.Add("name", CodeTooLong, "The key name must be at most %d characters.", maxKeyNameChars)
	}
}

// checkPermissions validates perms and returns them without duplicates, in
// the order given.
func checkPermissions(c *validate.Collector, perms []string) []string {
	out := make([]string, 0, len(perms))
	for _, p := range perms {
		p = strings.ToLower(strings.TrimSpace(p))
		if !slices.Contains(permissionOrder, p) {
			c.Add("permissions", CodeInvalid, "Unknown permission %q: use search, analytics or admin.", p)
			continue
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// checkTier validates a tier (already defaulted) and reports whether only
// admins may grant it.
func checkTier(c *validate.Collector, tier string) (adminOnly bool) {
	if !ratelimit.ValidTier(tier) {
		c.Add("rateLimitTier", CodeInvalid, "Unknown rate-limit tier %q: use free, pro or enterprise.", tier)
		return false
	}
	return tier != ratelimit.TierFree
}

func (s *Service) checkExpiry(c *validate.Collector, at time.Time) {
	if !at.IsZero() && !at.After(s.now()) {
		c.Add("expiresAt", CodeNotInFuture, "The expiry must be in the future.")
	}
}

// keyCaller loads the user of a session caller who manages keys.
func (s *Service) keyCaller(ctx context.Context, p identity.Principal) (User, error) {
	if err := requireSessionCaller(p); err != nil {
		return User{}, err
	}
	return s.activeUser(ctx, p)
}

// CreateAPIKey creates a key for the caller; its secret is returned once.
// Pro and enterprise tiers need the admin role; a user holds at most
// MaxActiveKeys active keys.
func (s *Service) CreateAPIKey(ctx context.Context, p identity.Principal, in KeyInput) (NewKey, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Environment = strings.ToLower(strings.TrimSpace(in.Environment))
	if in.Environment == "" {
		in.Environment = EnvTest
	}
	in.Tier = strings.ToLower(strings.TrimSpace(in.Tier))
	if in.Tier == "" {
		in.Tier = ratelimit.TierFree
	}
	var c validate.Collector
	checkKeyName(&c, in.Name)
	if in.Environment != EnvTest && in.Environment != EnvLive {
		c.Add("environment", CodeInvalid, "Unknown environment %q: use test or live.", in.Environment)
	}
	in.Permissions = checkPermissions(&c, in.Permissions)
	if len(in.Permissions) == 0 && !c.Has("permissions") {
		in.Permissions = []string{identity.PermSearch}
	}
	adminOnly := checkTier(&c, in.Tier)
	s.checkExpiry(&c, in.ExpiresAt)
	if err := c.Err(); err != nil {
		return NewKey{}, err
	}
	u, err := s.keyCaller(ctx, p)
	if err != nil {
		return NewKey{}, err
	}
	if adminOnly && u.Role != identity.RoleAdmin {
		return NewKey{}, ErrInsufficientPrivileges
	}
	return s.insertKey(ctx, u, in, func(active int) error {
		if active >= MaxActiveKeys {
			return ErrKeyLimit
		}
		return nil
	})
}

// SetupManagement creates the caller's first key: "Initial API Key", test
// environment, search and admin permissions, free tier. A caller who already
// has an active key gets ErrSetupCompleted.
func (s *Service) SetupManagement(ctx context.Context, p identity.Principal) (NewKey, error) {
	u, err := s.keyCaller(ctx, p)
	if err != nil {
		return NewKey{}, err
	}
	in := KeyInput{
		Name:        "Initial API Key",
		Environment: EnvTest,
		Permissions: []string{identity.PermSearch, identity.PermAdmin},
		Tier:        ratelimit.TierFree,
	}
	return s.insertKey(ctx, u, in, func(active int) error {
		if active > 0 {
			return ErrSetupCompleted
		}
		return nil
	})
}

func (s *Service) insertKey(ctx context.Context, u User, in KeyInput, check func(active int) error) (NewKey, error) {
	k, secret := s.mintKey(u.ID, in)
	err := s.store.CreateAPIKey(ctx, k, check)
	switch {
	case err == nil:
		return NewKey{Key: k, Secret: secret, Warning: Warning}, nil
	case errors.Is(err, ErrKeyLimit), errors.Is(err, ErrSetupCompleted):
		return NewKey{}, err
	case errors.Is(err, store.ErrNotFound):
		return NewKey{}, ErrAccountUnavailable
	}
	return NewKey{}, fmt.Errorf("account: create api key: %w", err)
}

// ListAPIKeys lists the caller's active keys, newest first.
func (s *Service) ListAPIKeys(ctx context.Context, p identity.Principal) ([]APIKey, error) {
	u, err := s.keyCaller(ctx, p)
	if err != nil {
		return nil, err
	}
	keys, err := s.store.ActiveAPIKeys(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("account: list api keys: %w", err)
	}
	return keys, nil
}

func requireKeyID(id string) error {
	if strings.TrimSpace(id) == "" {
		return validate.Field("keyId", CodeRequired, "Name the key by its id.")
	}
	return nil
}

// callerKey loads an active key of the caller; another user's key, a revoked
// one or an unknown id are all ErrAPIKeyNotFound.
func (s *Service) callerKey(ctx context.Context, p identity.Principal, keyID string) (User, APIKey, error) {
	if err := requireKeyID(keyID); err != nil {
		return User{}, APIKey{}, err
	}
	u, err := s.keyCaller(ctx, p)
	if err != nil {
		return User{}, APIKey{}, err
	}
	k, err := s.store.ActiveAPIKey(ctx, strings.TrimSpace(keyID), u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return User{}, APIKey{}, ErrAPIKeyNotFound
	}
	if err != nil {
		return User{}, APIKey{}, fmt.Errorf("account: load api key: %w", err)
	}
	return u, k, nil
}

// UpdateAPIKey changes a key's name, permissions, tier or expiry.
func (s *Service) UpdateAPIKey(ctx context.Context, p identity.Principal, in KeyUpdate) (APIKey, error) {
	var c validate.Collector
	if strings.TrimSpace(in.KeyID) == "" {
		c.Add("keyId", CodeRequired, "Name the key by its id.")
	}
	var name, tier string
	if in.Name != nil {
		name = strings.TrimSpace(*in.Name)
		checkKeyName(&c, name)
	}
	perms := checkPermissions(&c, in.Permissions)
	adminOnly := false
	if in.Tier != nil {
		tier = strings.ToLower(strings.TrimSpace(*in.Tier))
		adminOnly = checkTier(&c, tier)
	}
	if in.ExpiresAt != nil {
		s.checkExpiry(&c, *in.ExpiresAt)
	}
	if err := c.Err(); err != nil {
		return APIKey{}, err
	}
	u, k, err := s.callerKey(ctx, p, in.KeyID)
	if err != nil {
		return APIKey{}, err
	}
	if adminOnly && u.Role != identity.RoleAdmin {
		return APIKey{}, ErrInsufficientPrivileges
	}
	if in.Name != nil {
		k.Name = name
	}
	if len(perms) > 0 {
		k.Permissions = perms
	}
	if in.Tier != nil {
		k.Tier = tier
	}
	if in.ExpiresAt != nil {
		k.ExpiresAt = in.ExpiresAt.UTC()
	}
	k.UpdatedAt = s.now().UTC()
	err = s.store.UpdateAPIKey(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return APIKey{}, ErrAPIKeyNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("account: update api key: %w", err)
	}
	return s.store.ActiveAPIKey(ctx, k.ID, u.ID)
}

// RevokeAPIKey deactivates one of the caller's keys for good.
func (s *Service) RevokeAPIKey(ctx context.Context, p identity.Principal, keyID string) error {
	if err := requireKeyID(keyID); err != nil {
		return err
	}
	u, err := s.keyCaller(ctx, p)
	if err != nil {
		return err
	}
	err = s.store.RevokeAPIKey(ctx, strings.TrimSpace(keyID), u.ID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrAPIKeyNotFound
	}
	if err != nil {
		return fmt.Errorf("account: revoke api key: %w", err)
	}
	return nil
}

// RegenerateAPIKey revokes one of the caller's keys and issues a new one with
// the same name, environment, permissions, tier and expiry, in one
// transaction.
func (s *Service) RegenerateAPIKey(ctx context.Context, p identity.Principal, keyID string) (NewKey, error) {
	_, old, err := s.callerKey(ctx, p, keyID)
	if err != nil {
		return NewKey{}, err
	}
	next, secret := s.mintKey(old.UserID, KeyInput{
		Name: old.Name, Environment: old.Environment, Permissions: old.Permissions,
		Tier: old.Tier, ExpiresAt: old.ExpiresAt,
	})
	_, err = s.store.ReplaceAPIKey(ctx, old.ID, next)
	if errors.Is(err, store.ErrNotFound) {
		return NewKey{}, ErrAPIKeyNotFound
	}
	if err != nil {
		return NewKey{}, fmt.Errorf("account: regenerate api key: %w", err)
	}
	return NewKey{Key: next, Secret: secret, Warning: Warning, OldKeyID: old.ID}, nil
}

// KeyUsage reports a key's use and its live rate-limit window.
type KeyUsage struct {
	KeyID        string
	RequestCount uint64
	// LastUsed is zero for a key never used.
	LastUsed time.Time
	Tier     string
	Limit    int
	// WindowKnown is false when the shared limiter could not be asked;
	// Remaining and ResetTime are then meaningless.
	WindowKnown bool
	Remaining   int
	ResetTime   time.Time
}

// APIKeyUsage reports one of the caller's keys' use. The window comes from
// the cache service; when it cannot answer in time the window is reported
// unknown rather than failing.
func (s *Service) APIKeyUsage(ctx context.Context, p identity.Principal, keyID string) (KeyUsage, error) {
	_, k, err := s.callerKey(ctx, p, keyID)
	if err != nil {
		return KeyUsage{}, err
	}
	limit, _ := ratelimit.TierLimit(k.Tier)
	u := KeyUsage{KeyID: k.ID, RequestCount: k.UsageCount, LastUsed: k.LastUsed, Tier: k.Tier, Limit: limit}
	if s.rateLimits == nil {
		return u, nil
	}
	pctx, cancel := context.WithTimeout(ctx, s.depTimeout)
	defer cancel()
	w, err := s.rateLimits.PeekRateLimit(pctx, ratelimit.APIKeySubject(k.ID), limit, ratelimit.Window)
	if err != nil {
		s.log.WarnContext(ctx, "rate-limit state unavailable: reporting it unknown", "api_key_id", k.ID, "error", err.Error())
		return u, nil
	}
	u.WindowKnown, u.Remaining, u.ResetTime = true, w.Remaining, w.ResetTime
	return u, nil
}

// VerifyAPIKey checks an API key (shape, hash compared in constant time,
// revocation, expiry, environment, the user's state) and returns the caller
// with the key's grants. It costs one indexed query.
func (s *Service) VerifyAPIKey(ctx context.Context, secret string) (identity.Principal, error) {
	m := keyShape.FindStringSubmatch(secret)
	if m == nil {
		return identity.Principal{}, ErrInvalidAPIKeyFormat
	}
	rows, err := s.store.KeysByPrefix(ctx, secret[:KeyPrefixLength])
	if err != nil {
		return identity.Principal{}, fmt.Errorf("account: verify api key: %w", err)
	}
	want := []byte(hashKey(secret))
	var found *store.KeyUser
	for i := range rows {
		if subtle.ConstantTimeCompare([]byte(rows[i].Key.KeyHash), want) == 1 {
			found = &rows[i]
		}
	}
	if found == nil || found.Key.Environment != m[1] || !found.User.IsActive {
		return identity.Principal{}, ErrInvalidAPIKey
	}
	k := found.Key
	if !k.ExpiresAt.IsZero() && !s.now().Before(k.ExpiresAt) {
		return identity.Principal{}, ErrAPIKeyExpired
	}
	return identity.Principal{
		UserID:      found.User.ID,
		Email:       found.User.Email,
		Name:        found.User.Name,
		Role:        found.User.Role,
		ExpiresAt:   k.ExpiresAt,
		APIKeyID:    k.ID,
		Permissions: k.Permissions,
		Tier:        k.Tier,
		Environment: k.Environment,
	}, nil
}

// RecordUsage adds batched request counts to keys: one UPDATE per delta.
// Unknown ids are ignored; a delta without a time counts as used now.
func (s *Service) RecordUsage(ctx context.Context, deltas []UsageDelta) error {
	for _, d := range deltas {
		if d.KeyID == "" || d.Count == 0 {
			continue
		}
		if d.LastUsed.IsZero() {
			d.LastUsed = s.now()
		}
		if _, err := s.store.RecordUsage(ctx, d); err != nil {
			return fmt.Errorf("account: record usage: %w", err)
		}
	}
	return nil
}
