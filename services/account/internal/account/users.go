package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/account/internal/store"
)

// RegisterInput is what a new user sends.
type RegisterInput struct {
	Email    string
	Password string
	Name     string
}

// Register creates a user with the "user" role (registration never grants
// admin) and signs them in. Every field problem is reported at once.
func (s *Service) Register(ctx context.Context, in RegisterInput) (Auth, error) {
	email, name := normalizeEmail(in.Email), normalizeName(in.Name)
	var c validate.Collector
	checkEmail(&c, "email", email)
	checkPassword(&c, "password", in.Password)
	checkName(&c, "name", name)
	if err := c.Err(); err != nil {
		return Auth{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cost)
	if err != nil {
		return Auth{}, fmt.Errorf("account: hash password: %w", err)
	}
	now := s.now().UTC()
	u := User{
		ID:           uuid.NewString(),
		Email:        email,
		Name:         name,
		PasswordHash: string(hash),
		Role:         identity.RoleUser,
		IsActive:     true,
		CreatedAt:    now,
		UpdatedAt:    now,
		LastActive:   now,
	}
	sess, token, err := s.newSession(u)
	if err != nil {
		return Auth{}, err
	}
	if err := s.store.CreateUser(ctx, u, sess); err != nil {
		if errors.Is(err, store.ErrDuplicateEmail) {
			return Auth{}, ErrEmailTaken
		}
		return Auth{}, fmt.Errorf("account: register: %w", err)
	}
	// Read back what was stored (times at the column's precision).
	if stored, err := s.store.UserByID(ctx, u.ID); err == nil {
		u = stored
	}
	return Auth{Profile: s.profile(ctx, u, sess.ID), Token: token, ExpiresAt: sess.ExpiresAt}, nil
}

// Login checks an email and password and opens a session. An unknown email
// and a wrong password fail alike, and in the same time: an unknown email
// still costs one bcrypt comparison. A deactivated account is told so, but
// only to someone who knows its password.
func (s *Service) Login(ctx context.Context, email, password string) (Auth, error) {
	email = normalizeEmail(email)
	var c validate.Collector
	c.Check(email != "", "email", CodeRequired, "Enter the email address of your account.")
	c.Check(password != "", "password", CodeRequired, "Enter your password.")
	if err := c.Err(); err != nil {
		return Auth{}, err
	}
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return Auth{}, ErrAuthFailed
	}
	if err != nil {
		return Auth{}, fmt.Errorf("account: login: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return Auth{}, ErrAuthFailed
	}
	if !u.IsActive {
		return Auth{}, ErrAccountDeactivated
	}
	sess, token, err := s.newSession(u)
	if err != nil {
		return Auth{}, err
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return Auth{}, fmt.Errorf("account: login: %w", err)
	}
	now := s.now().UTC()
	if err := s.store.TouchLastActive(ctx, u.ID, now, now); err != nil {
		s.log.WarnContext(ctx, "last_active not updated", "user_id", u.ID, "error", err.Error())
	} else {
		u.LastActive = now
	}
	return Auth{Profile: s.profile(ctx, u, sess.ID), Token: token, ExpiresAt: sess.ExpiresAt}, nil
}

// Profile returns the caller's profile.
func (s *Service) Profile(ctx context.Context, p identity.Principal) (Profile, error) {
	u, err := s.activeUser(ctx, p)
	if err != nil {
		return Profile{}, err
	}
	return s.profile(ctx, u, p.SessionID), nil
}

// ProfileUpdate carries the fields to change; nil fields stay.
type ProfileUpdate struct {
	Name  *string
	Email *string
}

// UpdateProfile changes the caller's name and/or email, validated like at
// registration; an email another user has is ErrEmailTaken.
func (s *Service) UpdateProfile(ctx context.Context, p identity.Principal, in ProfileUpdate) (Profile, error) {
	if err := requireSessionCaller(p); err != nil {
		return Profile{}, err
	}
	var c validate.Collector
	var name, email string
	if in.Name != nil {
		name = normalizeName(*in.Name)
		checkName(&c, "name", name)
	}
	if in.Email != nil {
		email = normalizeEmail(*in.Email)
		checkEmail(&c, "email", email)
	}
	if err := c.Err(); err != nil {
		return Profile{}, err
	}
	u, err := s.activeUser(ctx, p)
	if err != nil {
		return Profile{}, err
	}
	if in.Name != nil {
		u.Name = name
	}
	if in.Email != nil {
		u.Email = email
	}
	if in.Name != nil || in.Email != nil {
		err := s.store.UpdateProfile(ctx, u.ID, u.Name, u.Email, s.now())
		if errors.Is(err, store.ErrDuplicateEmail) {
			return Profile{}, ErrEmailTaken
		}
		if err != nil {
			return Profile{}, fmt.Errorf("account: update profile: %w", err)
		}
		if u, err = s.activeUser(ctx, p); err != nil {
			return Profile{}, err
		}
	}
	return s.profile(ctx, u, p.SessionID), nil
}

// ChangePassword replaces the caller's password and ends every other session
// of theirs; the session that asked stays valid. A wrong current password is
// a field problem ("currentPassword", INCORRECT), not an authentication
// failure, so that clients do not log the user out over a typo.
func (s *Service) ChangePassword(ctx context.Context, p identity.Principal, current, next string) error {
	if err := requireSessionCaller(p); err != nil {
		return err
	}
	var c validate.Collector
	c.Check(current != "", "currentPassword", CodeRequired, "Enter your current password.")
	checkPassword(&c, "newPassword", next)
	if current != "" && next == current {
		c.Add("newPassword", CodeSameAsCurrent, "The new password must differ from the current one.")
	}
	if err := c.Err(); err != nil {
		return err
	}
	u, err := s.activeUser(ctx, p)
	if err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(current)) != nil {
		return validate.Field("currentPassword", CodeIncorrect, "The current password is incorrect.")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(next), s.cost)
	if err != nil {
		return fmt.Errorf("account: hash password: %w", err)
	}
	err = s.store.ChangePassword(ctx, u.ID, string(hash), p.SessionID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrAccountUnavailable
	}
	if err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	return nil
}

// RefreshToken opens a new session for the caller and revokes the one they
// presented (rotation): a session token can be refreshed once.
func (s *Service) RefreshToken(ctx context.Context, p identity.Principal) (Auth, error) {
	if p.SessionID == "" || p.ViaAPIKey() {
		return Auth{}, ErrSessionRequired
	}
	u, err := s.activeUser(ctx, p)
	if err != nil {
		return Auth{}, err
	}
	sess, token, err := s.newSession(u)
	if err != nil {
		return Auth{}, err
	}
	err = s.store.RotateSession(ctx, p.SessionID, u.ID, sess)
	if errors.Is(err, store.ErrNotFound) {
		return Auth{}, ErrSessionEnded
	}
	if err != nil {
		return Auth{}, fmt.Errorf("account: refresh: %w", err)
	}
	return Auth{Profile: s.profile(ctx, u, sess.ID), Token: token, ExpiresAt: sess.ExpiresAt}, nil
}

// Logout revokes the session the caller presented; its token stops
// verifying at once (and at the edge within its cache's few seconds).
func (s *Service) Logout(ctx context.Context, p identity.Principal) error {
	if p.SessionID == "" || p.ViaAPIKey() {
		return ErrSessionRequired
	}
	err := s.store.RevokeSession(ctx, p.SessionID, p.UserID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrSessionEnded
	}
	if err != nil {
		return fmt.Errorf("account: logout: %w", err)
	}
	return nil
}

// Deactivate locks the caller out: login fails from now on, every session is
// revoked, and their API keys stop verifying.
func (s *Service) Deactivate(ctx context.Context, p identity.Principal) error {
	if err := requireSessionCaller(p); err != nil {
		return err
	}
	err := s.store.Deactivate(ctx, p.UserID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrAccountUnavailable
	}
	if err != nil {
		return fmt.Errorf("account: deactivate: %w", err)
	}
	return nil
}

// MigrationStatus tells a v1 client whether the caller already uses API keys.
type MigrationStatus struct {
	UserID            string
	HasMigrated       bool
	RecommendedAction string
	Documentation     string
}

// Documentation is where the API is described (served by the gateway).
const Documentation = "/api/v1/openapi.json"

// MigrationStatus reports whether the caller has an active API key and what
// to do next.
func (s *Service) MigrationStatus(ctx context.Context, p identity.Principal) (MigrationStatus, error) {
	u, err := s.activeUser(ctx, p)
	if err != nil {
		return MigrationStatus{}, err
	}
	n, err := s.store.CountActiveAPIKeys(ctx, u.ID)
	if err != nil {
		return MigrationStatus{}, fmt.Errorf("account: migration status: %w", err)
	}
	st := MigrationStatus{UserID: u.ID, HasMigrated: n > 0, Documentation: Documentation}
	if st.HasMigrated {
		st.RecommendedAction = "You already use API keys: send one as \"Authorization: Bearer <key>\" to the /api/v1/search routes, and manage your keys with GET /api/v1/keys."
	} else {
		st.RecommendedAction = "Create your first API key with POST /api/v1/management/setup, then send it as \"Authorization: Bearer <key>\" to the /api/v1/search routes."
	}
	return st, nil
}

// MaxLookupUsers is the most ids LookupUsers takes at once.
const MaxLookupUsers = 1000

// LookupUsers returns the users with the given ids in the order asked
// (unknown and repeated ids are left out). It is an internal call of the
// admin reports: the caller must hold the admin role.
func (s *Service) LookupUsers(ctx context.Context, p identity.Principal, ids []string) ([]User, error) {
	if !p.IsAdmin() {
		return nil, ErrAdminRequired
	}
	var c validate.Collector
	c.Check(len(ids) <= MaxLookupUsers, "ids", CodeTooLong, "At most %d ids at once; got %d.", MaxLookupUsers, len(ids))
	if err := c.Err(); err != nil {
		return nil, err
	}
	found, err := s.store.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]User, len(found))
	for _, u := range found {
		byID[u.ID] = u
	}
	out := make([]User, 0, len(found))
	for _, id := range ids {
		if u, ok := byID[id]; ok {
			out = append(out, u)
			delete(byID, id)
		}
	}
	return out, nil
}
