// Package ratelimit names the suite's rate limits: the hourly request
// allowance of each API-key tier and the subjects limits are counted under,
// so that the gateway (which enforces them) and the account service (which
// reports them) agree.
package ratelimit

import "time"

// Tiers.
const (
	TierFree       = "free"
	TierPro        = "pro"
	TierEnterprise = "enterprise"
)

// Window is the length of an API-key rate-limit window.
const Window = time.Hour

// TierLimit returns the requests per Window allowed to a tier, and false for
// an unknown tier.
func TierLimit(tier string) (int, bool) {
	switch tier {
	case TierFree:
		return 1000, true
	case TierPro:
		return 10000, true
	case TierEnterprise:
		return 100000, true
	}
	return 0, false
}

// ValidTier reports whether tier is one of the three tiers.
func ValidTier(tier string) bool {
	_, ok := TierLimit(tier)
	return ok
}

// APIKeySubject is the subject an API key's requests are counted under.
func APIKeySubject(keyID string) string { return "apikey:" + keyID }

// IPSubject is the subject unauthenticated requests from an address are counted under.
func IPSubject(route, ip string) string { return "ip:" + route + ":" + ip }
