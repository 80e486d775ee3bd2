package account_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/account/internal/account"
	"github.com/altus4/altus/services/account/internal/store"
)

const testSecret = "test-secret-test-secret-test-secret-0123"

// clock is a settable clock shared by the service and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeSources answers a fixed list of data source ids and records who asked.
type fakeSources struct {
	mu    sync.Mutex
	ids   []string
	err   error
	block bool
	asked []identity.Principal
}

func (f *fakeSources) DataSourceIDs(ctx context.Context) ([]string, error) {
	p, _ := identity.From(ctx)
	f.mu.Lock()
	f.asked = append(f.asked, p)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.ids, f.err
}

// fakeLimits answers a fixed window, or an error.
type fakeLimits struct {
	window account.RateWindow
	err    error
	asked  []string
}

func (f *fakeLimits) PeekRateLimit(_ context.Context, key string, limit int, window time.Duration) (account.RateWindow, error) {
	f.asked = append(f.asked, key)
	return f.window, f.err
}

type env struct {
	svc     *account.Service
	db      *sql.DB
	store   *store.Store
	clock   *clock
	sources *fakeSources
	limits  *fakeLimits
}

type envOption func(*account.Options)

// newEnv migrates a fresh database and returns a service over it with a low
// bcrypt cost (production cost is proved by its own test).
func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	db, _ := testenv.OpenDatabase(t)
	ctx := context.Background()
	if _, err := migrate.Up(ctx, db, "account", store.Migrations(), nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	e := &env{db: db, store: store.New(db), clock: newClock(), sources: &fakeSources{ids: []string{"ds-1", "ds-2"}}, limits: &fakeLimits{}}
	o := account.Options{
		Store:              e.store,
		Secret:             testSecret,
		Signer:             identity.NewSigner(testSecret),
		TokenTTL:           time.Hour,
		DataSources:        e.sources,
		RateLimits:         e.limits,
		Now:                e.clock.Now,
		TestOnlyBcryptCost: bcrypt.MinCost,
	}
	for _, opt := range opts {
		opt(&o)
	}
	svc, err := account.New(o)
	if err != nil {
		t.Fatalf("account.New: %v", err)
	}
	e.svc = svc
	return e
}

// register creates a user and returns the answer and the session principal.
func (e *env) register(t testing.TB, email string) (account.Auth, identity.Principal) {
	t.Helper()
	a, err := e.svc.Register(context.Background(), account.RegisterInput{Email: email, Password: "password-123", Name: "Test User"})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return a, e.verify(t, a.Token)
}

func (e *env) verify(t testing.TB, token string) identity.Principal {
	t.Helper()
	p, err := e.svc.VerifyToken(context.Background(), token)
	if err != nil {
		t.Fatalf("verify token: %v", err)
	}
	return p
}

func (e *env) makeAdmin(t testing.TB, userID string) {
	t.Helper()
	if _, err := e.db.Exec("UPDATE users SET role = 'admin' WHERE id = ?", userID); err != nil {
		t.Fatalf("make admin: %v", err)
	}
}

// violations returns the (field, code) pairs of a validation error.
func violations(t testing.TB, err error) [][2]string {
	t.Helper()
	var ve *validate.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v, want a validation error", err)
	}
	var out [][2]string
	for _, v := range ve.Violations {
		out = append(out, [2]string{v.Field, v.Code})
	}
	return out
}

func wantViolations(t testing.TB, err error, want ...[2]string) {
	t.Helper()
	if diff := cmp.Diff(want, violations(t, err)); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("error = %v, want %v", err, want)
	}
}
