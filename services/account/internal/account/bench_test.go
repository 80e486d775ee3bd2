package account_test

import (
	"context"
	"testing"

	"github.com/altus4/altus/services/account/internal/account"
)

// BenchmarkVerifyToken measures one session-token verification against the
// real database: signature and expiry, then one indexed query.
func BenchmarkVerifyToken(b *testing.B) {
	e := newEnv(b)
	a, _ := e.register(b, "bench-token@example.com")
	ctx := context.Background()
	for b.Loop() {
		if _, err := e.svc.VerifyToken(ctx, a.Token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyApiKey measures one API-key verification against the real
// database: shape check, one indexed query by prefix, constant-time compare.
func BenchmarkVerifyApiKey(b *testing.B) {
	e := newEnv(b)
	_, p := e.register(b, "bench-key@example.com")
	ctx := context.Background()
	nk, err := e.svc.CreateAPIKey(ctx, p, account.KeyInput{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.svc.VerifyAPIKey(ctx, nk.Secret); err != nil {
			b.Fatal(err)
		}
	}
}
