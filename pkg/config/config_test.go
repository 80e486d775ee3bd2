package config

import (
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
