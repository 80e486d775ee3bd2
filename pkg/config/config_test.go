package config

import (
	"time"

	"github.com/google/go-cmp/cmp"

	"strings"
	"testing"
)

func TestProductionWithoutSecretsReportsEveryProblemAtOnce(t *testing.T) {
	var c struct {
		Runtime Runtime
		MySQL   MySQL
		Secrets Secrets
	}
	var p Problems
	Parse(&c, []string{"DB_PORT=notaport", "LOG_LEVEL=loud"}, &p)
	c.Runtime.Validate(&p)
	c.Secrets.Validate(c.Runtime, true, &p)
	err := p.Err()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"DB_PORT", "LOG_LEVEL", "JWT_SECRET", "ENCRYPTION_KEY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

// An unparsable value does not stop the others from being read: the error
// names it and every real problem of the rest, and nothing that comes only
// from fields left empty.
func TestAnUnparsableValueStillLetsEveryOtherValueBeChecked(t *testing.T) {
	var c struct {
		Runtime Runtime
		MySQL   MySQL
		Secrets Secrets
	}
	var p Problems
	Parse(&c, []string{"DB_PORT=notaport", "LOG_LEVEL=loud", "ALTUS_ENV=test", "JWT_SECRET=" + strings.Repeat("s", 32), "DB_HOST=db.internal"}, &p)
	c.Runtime.Validate(&p)
	c.Secrets.Validate(c.Runtime, false, &p)
	err := p.Err()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{`DB_PORT must be an integer; got "notaport"`, `LOG_LEVEL must be debug, info, warn or error; got "loud"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	for _, spurious := range []string{"ALTUS_ENV", "JWT_SECRET"} {
		if strings.Contains(msg, spurious) {
			t.Errorf("error names %s, which is set correctly:\n%s", spurious, msg)
		}
	}
	if c.MySQL.Host != "db.internal" || c.MySQL.Port != 3306 {
		t.Errorf("the parsable values were not read: host %q, port %d (the default stands in for the bad one)", c.MySQL.Host, c.MySQL.Port)
	}
}

func TestDevelopmentFillsMissingSecretsWithWarnings(t *testing.T) {
	s := Secrets{}
	var p Problems
	warnings := s.Validate(Runtime{Env: "development", LogLevel: "info"}, true, &p)
	if err := p.Err(); err != nil {
		t.Fatalf("development mode must start without secrets: %v", err)
	}
	if len(warnings) != 2 || len(s.EncryptionKeyBytes()) != 32 {
		t.Fatalf("warnings %v, key %d bytes", warnings, len(s.EncryptionKeyBytes()))
	}
}

func TestMalformedEncryptionKeyStopsProduction(t *testing.T) {
	for _, key := range []string{"abc", strings.Repeat("zz", 32), strings.Repeat("ab", 31)} {
		s := Secrets{JWTSecret: strings.Repeat("x", 32), EncryptionKey: key}
		var p Problems
		s.Validate(Runtime{Env: "production", LogLevel: "info"}, true, &p)
		if p.Err() == nil {
			t.Errorf("key %q accepted", key)
		}
	}
}

func TestReplicaHostsAreReadInOrderWithThePrimaryPortAsDefault(t *testing.T) {
	tests := []struct {
		name      string
		environ   []string
		wantWrite string
		wantReads []string
	}{
		{"DB_HOST only keeps one server", []string{"DB_HOST=db.internal", "DB_PORT=3307"}, "db.internal:3307", []string{}},
		{"DB_WRITE_HOST replaces DB_HOST for the primary", []string{"DB_HOST=old", "DB_WRITE_HOST=primary:3310"}, "primary:3310", []string{}},
		{"numbered replicas with and without a port", []string{
			"DB_WRITE_HOST=primary", "DB_PORT=3307",
			"DB_READ_HOST_2=replica-b:3308", "DB_READ_HOST_1=replica-a", "DB_READ_HOST_3=[::1]:3309",
		}, "primary:3307", []string{"replica-a:3307", "replica-b:3308", "[::1]:3309"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c struct{ MySQL MySQL }
			var p Problems
			Parse(&c, tt.environ, &p)
			c.MySQL.Validate(&p)
			if err := p.Err(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantWrite, c.MySQL.WriteAddr()); diff != "" {
				t.Errorf("primary (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantReads, c.MySQL.ReadAddrs()); diff != "" {
				t.Errorf("replicas (-want +got):\n%s", diff)
			}
			if c.MySQL.ReadMaxLag != 10*time.Second {
				t.Errorf("ALTUS_DB_READ_MAX_LAG default = %s, want 10s", c.MySQL.ReadMaxLag)
			}
		})
	}
}

func TestMalformedReplicaSettingsAreOneProblemEach(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    []string
	}{
		{"a gap in the numbering", []string{"DB_READ_HOST_1=a", "DB_READ_HOST_3=c"}, []string{"DB_READ_HOST_2"}},
		{"numbering that does not start at 1", []string{"DB_READ_HOST_2=b"}, []string{"DB_READ_HOST_1"}},
		{"a number that is not one", []string{"DB_READ_HOST_1=a", "DB_READ_HOST_X=b"}, []string{"DB_READ_HOST_X"}},
		{"an empty replica", []string{"DB_READ_HOST_1="}, []string{"DB_READ_HOST_1"}},
		{"a malformed port", []string{"DB_READ_HOST_1=a:notaport"}, []string{"DB_READ_HOST_1"}},
		{"a malformed primary", []string{"DB_WRITE_HOST=a:99999"}, []string{"DB_WRITE_HOST"}},
		{"a lag that is not a duration", []string{"DB_READ_HOST_1=a", "ALTUS_DB_READ_MAX_LAG=ten"}, []string{"ALTUS_DB_READ_MAX_LAG"}},
		{"a lag that is not positive", []string{"DB_READ_HOST_1=a", "ALTUS_DB_READ_MAX_LAG=0s"}, []string{"ALTUS_DB_READ_MAX_LAG"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := struct{ MySQL MySQL }{MySQL: Defaults[MySQL]()}
			var p Problems
			Parse(&c, tt.environ, &p)
			if p.Err() == nil {
				c.MySQL.Validate(&p)
			}
			if len(p.list) != len(tt.want) {
				t.Fatalf("problems %q, want %d", p.list, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(p.list[i], w+" ") {
					t.Errorf("problem %q does not name %s", p.list[i], w)
				}
			}
		})
	}
}
