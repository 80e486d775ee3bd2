// Package grpcapi adapts the account domain to the generated
// altus.account.v1.AccountService: it converts messages, finds the caller in
// the context, and maps domain errors to status codes with v1 reasons in one
// table.
package grpcapi

import (
	"context"
	"log/slog"
	"math"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/altus4/altus/pkg/authn"
	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/account/internal/account"
)

// Reasons of the account service (the v1 error codes).
const (
	ReasonUserAlreadyExists      = "USER_ALREADY_EXISTS"
	ReasonAuthenticationFailed   = "AUTHENTICATION_FAILED"
	ReasonNoToken                = "NO_TOKEN"
	ReasonInvalidToken           = "INVALID_TOKEN"
	ReasonTokenExpired           = "TOKEN_EXPIRED"
	ReasonInvalidAPIKeyFormat    = "INVALID_API_KEY_FORMAT"
	ReasonInvalidAPIKey          = "INVALID_API_KEY"
	ReasonAPIKeyExpired          = "API_KEY_EXPIRED"
	ReasonAPIKeyNotFound         = "API_KEY_NOT_FOUND"
	ReasonInsufficientPrivileges = "INSUFFICIENT_PRIVILEGES"
	ReasonSetupAlreadyCompleted  = "SETUP_ALREADY_COMPLETED"
	ReasonAPIKeyLimitReached     = "API_KEY_LIMIT_REACHED"
)

// errorTable is the one mapping of domain errors to codes and reasons.
var errorTable = []grpcx.Mapping{
	{Err: account.ErrEmailTaken, Code: codes.AlreadyExists, Reason: ReasonUserAlreadyExists},
	{Err: account.ErrAuthFailed, Code: codes.Unauthenticated, Reason: ReasonAuthenticationFailed},
	{Err: account.ErrAccountDeactivated, Code: codes.Unauthenticated, Reason: ReasonAuthenticationFailed},
	{Err: account.ErrInvalidToken, Code: codes.Unauthenticated, Reason: ReasonInvalidToken},
	{Err: account.ErrSessionEnded, Code: codes.Unauthenticated, Reason: ReasonInvalidToken},
	{Err: account.ErrAccountUnavailable, Code: codes.Unauthenticated, Reason: ReasonInvalidToken},
	{Err: account.ErrSessionRequired, Code: codes.Unauthenticated, Reason: ReasonInvalidToken},
	{Err: account.ErrTokenExpired, Code: codes.Unauthenticated, Reason: ReasonTokenExpired},
	{Err: account.ErrInvalidAPIKeyFormat, Code: codes.Unauthenticated, Reason: ReasonInvalidAPIKeyFormat},
	{Err: account.ErrInvalidAPIKey, Code: codes.Unauthenticated, Reason: ReasonInvalidAPIKey},
	{Err: account.ErrAPIKeyExpired, Code: codes.Unauthenticated, Reason: ReasonAPIKeyExpired},
	{Err: account.ErrAPIKeyNotFound, Code: codes.NotFound, Reason: ReasonAPIKeyNotFound},
	{Err: account.ErrInsufficientPrivileges, Code: codes.PermissionDenied, Reason: ReasonInsufficientPrivileges},
	{Err: account.ErrAdminRequired, Code: codes.PermissionDenied, Reason: ReasonInsufficientPrivileges},
	{Err: account.ErrSetupCompleted, Code: codes.FailedPrecondition, Reason: ReasonSetupAlreadyCompleted},
	{Err: account.ErrKeyLimit, Code: codes.FailedPrecondition, Reason: ReasonAPIKeyLimitReached},
}

func mapErr(err error) error { return grpcx.Map(err, errorTable) }

// errNoCaller answers a call that needs a caller and came without one.
var errNoCaller = grpcx.Error(codes.Unauthenticated, ReasonNoToken,
	"This call needs a signed-in caller: send a session token as \"authorization: Bearer <token>\".")

func caller(ctx context.Context) (identity.Principal, error) {
	p, ok := identity.From(ctx)
	if !ok || p.UserID == "" {
		return identity.Principal{}, errNoCaller
	}
	return p, nil
}

// Server implements accountv1.AccountServiceServer.
type Server struct {
	accountv1.UnimplementedAccountServiceServer
	svc *account.Service
}

// New returns the adapter over svc.
func New(svc *account.Service) *Server { return &Server{svc: svc} }

// Authenticator checks the bearer credentials of clients that call the
// account service directly, with the service's own verification (no round
// trip). Pass it as grpcx.ServerOptions.Authenticator.
type Authenticator struct {
	svc *account.Service
	log *slog.Logger
}

// NewAuthenticator returns an Authenticator over svc.
func NewAuthenticator(svc *account.Service, log *slog.Logger) *Authenticator {
	if log == nil {
		log = slog.Default()
	}
	return &Authenticator{svc: svc, log: log}
}

// Authenticate implements identity.Authenticator: session tokens and API keys
// are told apart by the key prefix. Errors are status errors with v1 reasons.
func (a *Authenticator) Authenticate(ctx context.Context, bearer string) (identity.Principal, error) {
	var (
		p   identity.Principal
		err error
	)
	if authn.IsAPIKey(bearer) {
		p, err = a.svc.VerifyAPIKey(ctx, bearer)
	} else {
		p, err = a.svc.VerifyToken(ctx, bearer)
	}
	if err == nil {
		return p, nil
	}
	mapped := mapErr(err)
	if _, known := statusOf(mapped); known {
		return identity.Principal{}, mapped
	}
	a.log.ErrorContext(ctx, "credentials could not be checked", "error", err.Error())
	return identity.Principal{}, grpcx.Error(codes.Unavailable, grpcx.ReasonUnavailable,
		"Credentials cannot be checked right now; try again shortly.")
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// fromTS converts an optional request timestamp; an invalid one is a field problem.
func fromTS(field string, t *timestamppb.Timestamp) (time.Time, error) {
	if t == nil {
		return time.Time{}, nil
	}
	if err := t.CheckValid(); err != nil {
		return time.Time{}, validate.Field(field, account.CodeInvalid, "The time is not valid: send an RFC 3339 time such as 2030-01-01T00:00:00Z.")
	}
	return t.AsTime(), nil
}

func clampUint32(n uint64) uint32 {
	if n > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(n)
}

func userProto(p account.Profile) *accountv1.User {
	ids := p.ConnectedDatabases
	if ids == nil {
		ids = []string{}
	}
	return &accountv1.User{
		Id:                 p.User.ID,
		Email:              p.User.Email,
		Name:               p.User.Name,
		Role:               p.User.Role,
		ConnectedDatabases: ids,
		CreatedAt:          ts(p.User.CreatedAt),
		LastActive:         ts(p.User.LastActive),
	}
}

func keyProto(k account.APIKey) *accountv1.ApiKey {
	return &accountv1.ApiKey{
		Id:            k.ID,
		Name:          k.Name,
		KeyPrefix:     k.KeyPrefix,
		Environment:   k.Environment,
		Permissions:   k.Permissions,
		RateLimitTier: k.Tier,
		ExpiresAt:     ts(k.ExpiresAt),
		LastUsed:      ts(k.LastUsed),
		UsageCount:    clampUint32(k.UsageCount),
		IsActive:      k.IsActive,
		CreatedAt:     ts(k.CreatedAt),
		UpdatedAt:     ts(k.UpdatedAt),
	}
}

func principalProto(p identity.Principal) *accountv1.Principal {
	return &accountv1.Principal{
		UserId:        p.UserID,
		Email:         p.Email,
		Name:          p.Name,
		Role:          p.Role,
		SessionId:     p.SessionID,
		ExpiresAt:     ts(p.ExpiresAt),
		ApiKeyId:      p.APIKeyID,
		Permissions:   p.Permissions,
		RateLimitTier: p.Tier,
		Environment:   p.Environment,
	}
}

// Register implements AccountService.Register.
func (s *Server) Register(ctx context.Context, req *accountv1.RegisterRequest) (*accountv1.RegisterResponse, error) {
	a, err := s.svc.Register(ctx, account.RegisterInput{Email: req.GetEmail(), Password: req.GetPassword(), Name: req.GetName()})
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.RegisterResponse{User: userProto(a.Profile), Token: a.Token, ExpiresAt: ts(a.ExpiresAt)}, nil
}

// Login implements AccountService.Login.
func (s *Server) Login(ctx context.Context, req *accountv1.LoginRequest) (*accountv1.LoginResponse, error) {
	a, err := s.svc.Login(ctx, req.GetEmail(), req.GetPassword())
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.LoginResponse{User: userProto(a.Profile), Token: a.Token, ExpiresAt: ts(a.ExpiresAt)}, nil
}

// GetProfile implements AccountService.GetProfile.
func (s *Server) GetProfile(ctx context.Context, _ *accountv1.GetProfileRequest) (*accountv1.GetProfileResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	prof, err := s.svc.Profile(ctx, p)
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.GetProfileResponse{User: userProto(prof)}, nil
}

// UpdateProfile implements AccountService.UpdateProfile.
func (s *Server) UpdateProfile(ctx context.Context, req *accountv1.UpdateProfileRequest) (*accountv1.UpdateProfileResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	prof, err := s.svc.UpdateProfile(ctx, p, account.ProfileUpdate{Name: req.Name, Email: req.Email})
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.UpdateProfileResponse{User: userProto(prof)}, nil
}

// ChangePassword implements AccountService.ChangePassword.
func (s *Server) ChangePassword(ctx context.Context, req *accountv1.ChangePasswordRequest) (*accountv1.ChangePasswordResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.svc.ChangePassword(ctx, p, req.GetCurrentPassword(), req.GetNewPassword()); err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.ChangePasswordResponse{Success: true}, nil
}

// RefreshToken implements AccountService.RefreshToken.
func (s *Server) RefreshToken(ctx context.Context, _ *accountv1.RefreshTokenRequest) (*accountv1.RefreshTokenResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.svc.RefreshToken(ctx, p)
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.RefreshTokenResponse{User: userProto(a.Profile), Token: a.Token, ExpiresAt: ts(a.ExpiresAt)}, nil
}

// Logout implements AccountService.Logout.
func (s *Server) Logout(ctx context.Context, _ *accountv1.LogoutRequest) (*accountv1.LogoutResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.svc.Logout(ctx, p); err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.LogoutResponse{Success: true}, nil
}

// DeactivateAccount implements AccountService.DeactivateAccount.
func (s *Server) DeactivateAccount(ctx context.Context, _ *accountv1.DeactivateAccountRequest) (*accountv1.DeactivateAccountResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.svc.Deactivate(ctx, p); err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.DeactivateAccountResponse{Success: true}, nil
}

// GetMigrationStatus implements AccountService.GetMigrationStatus.
func (s *Server) GetMigrationStatus(ctx context.Context, _ *accountv1.GetMigrationStatusRequest) (*accountv1.GetMigrationStatusResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.svc.MigrationStatus(ctx, p)
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.GetMigrationStatusResponse{
		UserId: st.UserID, HasMigrated: st.HasMigrated,
		RecommendedAction: st.RecommendedAction, Documentation: st.Documentation,
	}, nil
}

// SetupManagement implements AccountService.SetupManagement.
func (s *Server) SetupManagement(ctx context.Context, _ *accountv1.SetupManagementRequest) (*accountv1.SetupManagementResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	nk, err := s.svc.SetupManagement(ctx, p)
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.SetupManagementResponse{ApiKey: keyProto(nk.Key), SecretKey: nk.Secret, Warning: nk.Warning}, nil
}

// CreateApiKey implements AccountService.CreateApiKey.
func (s *Server) CreateApiKey(ctx context.Context, req *accountv1.CreateApiKeyRequest) (*accountv1.CreateApiKeyResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	expires, err := fromTS("expiresAt", req.GetExpiresAt())
	if err != nil {
		return nil, mapErr(err)
	}
	nk, err := s.svc.CreateAPIKey(ctx, p, account.KeyInput{
		Name: req.GetName(), Environment: req.GetEnvironment(), Permissions: req.GetPermissions(),
		Tier: req.GetRateLimitTier(), ExpiresAt: expires,
	})
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.CreateApiKeyResponse{ApiKey: keyProto(nk.Key), SecretKey: nk.Secret, Warning: nk.Warning}, nil
}

// ListApiKeys implements AccountService.ListApiKeys.
func (s *Server) ListApiKeys(ctx context.Context, _ *accountv1.ListApiKeysRequest) (*accountv1.ListApiKeysResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := s.svc.ListAPIKeys(ctx, p)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]*accountv1.ApiKey, len(keys))
	for i, k := range keys {
		out[i] = keyProto(k)
	}
	return &accountv1.ListApiKeysResponse{ApiKeys: out, Total: int32(len(out))}, nil //nolint:gosec // at most account.MaxActiveKeys
}

// UpdateApiKey implements AccountService.UpdateApiKey.
func (s *Server) UpdateApiKey(ctx context.Context, req *accountv1.UpdateApiKeyRequest) (*accountv1.UpdateApiKeyResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in := account.KeyUpdate{KeyID: req.GetKeyId(), Name: req.Name, Permissions: req.GetPermissions(), Tier: req.RateLimitTier}
	if req.GetExpiresAt() != nil {
		expires, err := fromTS("expiresAt", req.GetExpiresAt())
		if err != nil {
			return nil, mapErr(err)
		}
		in.ExpiresAt = &expires
	}
	k, err := s.svc.UpdateAPIKey(ctx, p, in)
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.UpdateApiKeyResponse{ApiKey: keyProto(k)}, nil
}

// RevokeApiKey implements AccountService.RevokeApiKey.
func (s *Server) RevokeApiKey(ctx context.Context, req *accountv1.RevokeApiKeyRequest) (*accountv1.RevokeApiKeyResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.svc.RevokeAPIKey(ctx, p, req.GetKeyId()); err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.RevokeApiKeyResponse{
		KeyId:   req.GetKeyId(),
		Message: "API key revoked: requests made with it are refused from now on.",
	}, nil
}

// GetApiKeyUsage implements AccountService.GetApiKeyUsage.
func (s *Server) GetApiKeyUsage(ctx context.Context, req *accountv1.GetApiKeyUsageRequest) (*accountv1.GetApiKeyUsageResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.svc.APIKeyUsage(ctx, p, req.GetKeyId())
	if err != nil {
		return nil, mapErr(err)
	}
	rl := &accountv1.RateLimitStatus{Tier: u.Tier, Limit: int32(u.Limit)} //nolint:gosec // tier limits fit in int32
	if u.WindowKnown {
		remaining := int32(min(max(u.Remaining, 0), math.MaxInt32)) //nolint:gosec // clamped
		rl.Remaining = &remaining
		rl.ResetTime = ts(u.ResetTime)
	}
	return &accountv1.GetApiKeyUsageResponse{Usage: &accountv1.ApiKeyUsage{
		ApiKeyId:        u.KeyID,
		RequestCount:    clampUint32(u.RequestCount),
		LastUsed:        ts(u.LastUsed),
		RateLimitStatus: rl,
	}}, nil
}

// RegenerateApiKey implements AccountService.RegenerateApiKey.
func (s *Server) RegenerateApiKey(ctx context.Context, req *accountv1.RegenerateApiKeyRequest) (*accountv1.RegenerateApiKeyResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	nk, err := s.svc.RegenerateAPIKey(ctx, p, req.GetKeyId())
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.RegenerateApiKeyResponse{ApiKey: keyProto(nk.Key), SecretKey: nk.Secret, Warning: nk.Warning, OldKeyId: nk.OldKeyID}, nil
}

// VerifyToken implements AccountService.VerifyToken (internal).
func (s *Server) VerifyToken(ctx context.Context, req *accountv1.VerifyTokenRequest) (*accountv1.VerifyTokenResponse, error) {
	p, err := s.svc.VerifyToken(ctx, req.GetToken())
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.VerifyTokenResponse{Principal: principalProto(p)}, nil
}

// VerifyApiKey implements AccountService.VerifyApiKey (internal).
func (s *Server) VerifyApiKey(ctx context.Context, req *accountv1.VerifyApiKeyRequest) (*accountv1.VerifyApiKeyResponse, error) {
	p, err := s.svc.VerifyAPIKey(ctx, req.GetApiKey())
	if err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.VerifyApiKeyResponse{Principal: principalProto(p)}, nil
}

// RecordApiKeyUsage implements AccountService.RecordApiKeyUsage (internal).
func (s *Server) RecordApiKeyUsage(ctx context.Context, req *accountv1.RecordApiKeyUsageRequest) (*accountv1.RecordApiKeyUsageResponse, error) {
	deltas := make([]account.UsageDelta, 0, len(req.GetDeltas()))
	for _, d := range req.GetDeltas() {
		ud := account.UsageDelta{KeyID: d.GetApiKeyId(), Count: d.GetCount(), IP: d.GetLastUsedIp()}
		if d.GetLastUsed() != nil && d.GetLastUsed().IsValid() {
			ud.LastUsed = d.GetLastUsed().AsTime()
		}
		deltas = append(deltas, ud)
	}
	if err := s.svc.RecordUsage(ctx, deltas); err != nil {
		return nil, mapErr(err)
	}
	return &accountv1.RecordApiKeyUsageResponse{}, nil
}

// statusOf reports whether err is a status error.
func statusOf(err error) (*status.Status, bool) { return status.FromError(err) }

// LookupUsers implements AccountService.LookupUsers (internal; admin role).
func (s *Server) LookupUsers(ctx context.Context, req *accountv1.LookupUsersRequest) (*accountv1.LookupUsersResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	users, err := s.svc.LookupUsers(ctx, p, req.GetIds())
	if err != nil {
		return nil, mapErr(err)
	}
	out := &accountv1.LookupUsersResponse{Users: make([]*accountv1.User, 0, len(users))}
	for _, u := range users {
		m := userProto(account.Profile{User: u})
		out.Users = append(out.Users, m)
	}
	return out, nil
}
