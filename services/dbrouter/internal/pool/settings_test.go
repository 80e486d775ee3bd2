package pool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDriverConfigUsesSafeBoundedOptions(t *testing.T) {
	s := Settings{Host: "db.example.com", Port: 3307, Database: "app", Username: "u", Password: "p"}
	type view struct {
		Addr, DB, User, Pass, TLS                      string
		Timeout, Read, Write                           time.Duration
		ParseTime, Interpolate, MultiStatements, Files bool
		Collation                                      string
	}
	tests := []struct {
		name    string
		tls     bool
		skip    bool
		wantTLS string
	}{
		{"no TLS", false, false, ""},
		{"verified TLS", true, false, "true"},
		{"TLS without verification for development", true, true, "skip-verify"},
		{"skip-verify alone does not turn TLS on", false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.TLS = tt.tls
			c := Options{TLSSkipVerify: tt.skip}.withDefaults().driverConfig(s)
			got := view{c.Addr, c.DBName, c.User, c.Passwd, c.TLSConfig, c.Timeout, c.ReadTimeout, c.WriteTimeout,
				c.ParseTime, c.InterpolateParams, c.MultiStatements, c.AllowAllFiles, c.Collation}
			want := view{"db.example.com:3307", "app", "u", "p", tt.wantTLS, 5 * time.Second, 30 * time.Second, 30 * time.Second,
				true, true, false, false, "utf8mb4_unicode_ci"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("driver config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProbeWithSSLFailsAgainstAServerWithoutATrustedCertificate(t *testing.T) {
	s, _ := source(t)
	s.TLS = true
	// The test server has TLS disabled, or a self-signed certificate:
	// either way a verified TLS connection cannot be made.
	_, err := Probe(context.Background(), s, Options{})
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("Probe with ssl = %v, want *ConnectError", err)
	}
}
