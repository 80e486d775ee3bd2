package clientip

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestOfBelievesForwardedForOnlyFromTrustedProxies(t *testing.T) {
	r := New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	tests := []struct {
		name, remote, xff, want string
	}{
		{"direct client", "203.0.113.7:5000", "", "203.0.113.7"},
		{"untrusted peer cannot spoof", "203.0.113.7:5000", "1.2.3.4", "203.0.113.7"},
		{"trusted proxy", "10.0.0.2:5000", "198.51.100.9", "198.51.100.9"},
		{"right-most untrusted hop", "10.0.0.2:5000", "1.2.3.4, 198.51.100.9, 10.0.0.3", "198.51.100.9"},
		{"all hops trusted", "10.0.0.2:5000", "10.0.0.9", "10.0.0.2"},
		{"ipv6 peer", "[2001:db8::1]:80", "", "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := r.Of(req); got != tt.want {
				t.Fatalf("Of = %q, want %q", got, tt.want)
			}
		})
	}
}
