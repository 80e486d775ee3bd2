package rest

import (
	"regexp"

	"github.com/altus4/altus/pkg/identity"
)

// Auth is how a route authenticates its caller.
type Auth int

// Authentication kinds.
const (
	// AuthNone: anyone may call.
	AuthNone Auth = iota
	// AuthSession: a session token (JWT) from login or register.
	AuthSession
	// AuthAPIKey: an API key (altus4_sk_…).
	AuthAPIKey
)

// Policy is what the edge enforces on a route before calling its service.
type Policy struct {
	Auth Auth
	// Permission is the API-key permission required (AuthAPIKey routes).
	Permission string
	// AdminRole requires the caller's user to have the admin role.
	AdminRole bool
	// IPLimited routes are rate limited per client address (unauthenticated routes).
	IPLimited bool
	// Created routes answer 201 on success.
	Created bool
}

// Policies is the edge's table of every v1 route, keyed by method and path
// template as written in proto/rest-v1.yaml. A route missing here is refused.
var Policies = map[string]Policy{
	"POST /api/v1/auth/register":              {Auth: AuthNone, IPLimited: true, Created: true},
	"POST /api/v1/auth/login":                 {Auth: AuthNone, IPLimited: true},
	"GET /api/v1/auth/profile":                {Auth: AuthSession},
	"PUT /api/v1/auth/profile":                {Auth: AuthSession},
	"POST /api/v1/auth/change-password":       {Auth: AuthSession},
	"POST /api/v1/auth/refresh":               {Auth: AuthSession},
	"POST /api/v1/auth/logout":                {Auth: AuthSession},
	"DELETE /api/v1/auth/account":             {Auth: AuthSession},
	"POST /api/v1/management/setup":           {Auth: AuthSession, Created: true},
	"GET /api/v1/management/migration-status": {Auth: AuthSession},

	"POST /api/v1/keys":                     {Auth: AuthSession, Created: true},
	"GET /api/v1/keys":                      {Auth: AuthSession},
	"PUT /api/v1/keys/{key_id}":             {Auth: AuthSession},
	"DELETE /api/v1/keys/{key_id}":          {Auth: AuthSession},
	"GET /api/v1/keys/{key_id}/usage":       {Auth: AuthSession},
	"POST /api/v1/keys/{key_id}/regenerate": {Auth: AuthSession},

	"GET /api/v1/databases":             {Auth: AuthSession},
	"POST /api/v1/databases":            {Auth: AuthSession, Created: true},
	"GET /api/v1/databases/status":      {Auth: AuthSession},
	"GET /api/v1/databases/{id}":        {Auth: AuthSession},
	"PUT /api/v1/databases/{id}":        {Auth: AuthSession},
	"DELETE /api/v1/databases/{id}":     {Auth: AuthSession},
	"POST /api/v1/databases/{id}/test":  {Auth: AuthSession},
	"GET /api/v1/databases/{id}/schema": {Auth: AuthSession},

	"POST /api/v1/search":            {Auth: AuthAPIKey, Permission: identity.PermSearch},
	"GET /api/v1/search/suggestions": {Auth: AuthAPIKey, Permission: identity.PermSearch},
	"POST /api/v1/search/analyze":    {Auth: AuthAPIKey, Permission: identity.PermAnalytics},
	"GET /api/v1/search/trends":      {Auth: AuthAPIKey, Permission: identity.PermAnalytics},
	"GET /api/v1/search/history":     {Auth: AuthAPIKey, Permission: identity.PermSearch},
	"POST /api/v1/search/clicks":     {Auth: AuthAPIKey, Permission: identity.PermSearch},

	"GET /api/v1/analytics/search-trends":             {Auth: AuthSession},
	"GET /api/v1/analytics/performance":               {Auth: AuthSession},
	"GET /api/v1/analytics/popular-queries":           {Auth: AuthSession},
	"GET /api/v1/analytics/search-history":            {Auth: AuthSession},
	"GET /api/v1/analytics/insights":                  {Auth: AuthSession},
	"GET /api/v1/analytics/dashboard":                 {Auth: AuthSession},
	"GET /api/v1/analytics/zero-result-queries":       {Auth: AuthSession},
	"GET /api/v1/analytics/click-through":             {Auth: AuthSession},
	"GET /api/v1/analytics/admin/system-overview":     {Auth: AuthSession, AdminRole: true},
	"GET /api/v1/analytics/admin/user-activity":       {Auth: AuthSession, AdminRole: true},
	"GET /api/v1/analytics/admin/performance-metrics": {Auth: AuthSession, AdminRole: true},
}

var captureGlob = regexp.MustCompile(`\{([A-Za-z0-9_.]+)=\*\}`)

// Template turns a grpc-gateway pattern string ("/api/v1/keys/{key_id=*}")
// into the path template of the routing table ("/api/v1/keys/{key_id}").
func Template(pattern string) string { return captureGlob.ReplaceAllString(pattern, "{$1}") }

// Lookup returns the policy of method and template.
func Lookup(method, template string) (Policy, bool) {
	p, ok := Policies[method+" "+template]
	return p, ok
}
