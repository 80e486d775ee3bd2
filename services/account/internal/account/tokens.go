package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/services/account/internal/store"
)

// claims are a session token's claims: the v1 names (id, email, name, role)
// plus jti (the session id), iat and exp.
type claims struct {
	UserID string `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	jwt.RegisteredClaims
}

// newSession returns a session row for u starting now and its signed token.
func (s *Service) newSession(u User) (store.Session, string, error) {
	now := s.now().UTC()
	// JWT times have whole seconds; the session row keeps the same instants.
	issued := now.Truncate(time.Second)
	sess := store.Session{
		ID:        uuid.NewString(),
		UserID:    u.ID,
		CreatedAt: issued,
		ExpiresAt: issued.Add(s.ttl),
	}
	c := claims{
		UserID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role,
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        sess.ID,
			IssuedAt:  jwt.NewNumericDate(sess.CreatedAt),
			ExpiresAt: jwt.NewNumericDate(sess.ExpiresAt),
		},
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.secret)
	if err != nil {
		return store.Session{}, "", fmt.Errorf("account: sign token: %w", err)
	}
	return sess, token, nil
}

// VerifyToken checks a session token (signature, expiry, revocation of its
// session, the user's state) and returns the caller. The role is read from
// the database, never trusted from the token. It costs one indexed query,
// plus at most one write per user per minute to keep last_active fresh.
func (s *Service) VerifyToken(ctx context.Context, token string) (identity.Principal, error) {
	if token == "" {
		return identity.Principal{}, ErrInvalidToken
	}
	var c claims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	)
	_, err := parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.secret, nil })
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		// The signature was checked before the expiry, so this token is ours.
		return identity.Principal{}, ErrTokenExpired
	default:
		return identity.Principal{}, ErrInvalidToken
	}
	if c.ID == "" || c.UserID == "" {
		// Tokens without a session id (v1's) cannot be revoked: not accepted.
		return identity.Principal{}, ErrSessionEnded
	}
	su, err := s.store.SessionWithUser(ctx, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		return identity.Principal{}, ErrSessionEnded
	}
	if err != nil {
		return identity.Principal{}, fmt.Errorf("account: verify token: %w", err)
	}
	now := s.now().UTC()
	switch {
	case su.Session.UserID != c.UserID:
		return identity.Principal{}, ErrInvalidToken
	case !su.Session.RevokedAt.IsZero():
		return identity.Principal{}, ErrSessionEnded
	case !su.User.IsActive:
		return identity.Principal{}, ErrAccountUnavailable
	case !now.Before(su.Session.ExpiresAt):
		return identity.Principal{}, ErrTokenExpired
	}
	s.touch(ctx, su.User, now)
	return identity.Principal{
		UserID:    su.User.ID,
		Email:     su.User.Email,
		Name:      su.User.Name,
		Role:      su.User.Role,
		SessionID: su.Session.ID,
		ExpiresAt: su.Session.ExpiresAt,
	}, nil
}

// touch refreshes u's last_active when it is older than lastActiveInterval;
// the UPDATE is conditional too, so replicas racing on one user write once.
func (s *Service) touch(ctx context.Context, u User, now time.Time) {
	threshold := now.Add(-lastActiveInterval)
	if !u.LastActive.IsZero() && !u.LastActive.Before(threshold) {
		return
	}
	if err := s.store.TouchLastActive(ctx, u.ID, now, threshold); err != nil {
		s.log.WarnContext(ctx, "last_active not updated", "user_id", u.ID, "error", err.Error())
	}
}
