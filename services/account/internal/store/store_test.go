package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/account/internal/store"
)

func newStore(t *testing.T) *store.Store {
	t.Helper()
	db, _ := testenv.OpenDatabase(t)
	if _, err := migrate.Up(context.Background(), db, "account", store.Migrations(), nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return store.New(db)
}

func TestMigrationsApplyOnceAndBuildUTF8InnoDBTables(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	n, err := migrate.Up(ctx, s.DB(), "account", store.Migrations(), nil)
	if err != nil || n != 0 {
		t.Fatalf("second migrate = %d, %v; want 0 applied", n, err)
	}
	rows, err := s.DB().QueryContext(ctx,
		"SELECT table_name, engine, table_collation FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ('users', 'sessions', 'api_keys') ORDER BY table_name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got [][3]string
	for rows.Next() {
		var r [3]string
		if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := [][3]string{
		{"api_keys", "InnoDB", "utf8mb4_unicode_ci"},
		{"sessions", "InnoDB", "utf8mb4_unicode_ci"},
		{"users", "InnoDB", "utf8mb4_unicode_ci"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	var imprecise int
	if err := s.DB().QueryRowContext(ctx,
		"SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name IN ('users', 'sessions', 'api_keys') AND data_type = 'datetime' AND datetime_precision <> 3").Scan(&imprecise); err != nil || imprecise != 0 {
		t.Errorf("%d DATETIME columns without millisecond precision (%v)", imprecise, err)
	}
}

func TestTimesRoundTripInUTCWithMilliseconds(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*3600))
	u := store.User{ID: "11111111-1111-1111-1111-111111111111", Email: "t@example.com", Name: "Tee", PasswordHash: "x", Role: "user", IsActive: true, CreatedAt: at, UpdatedAt: at}
	if err := s.CreateUser(ctx, u, store.Session{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := at.UTC().Truncate(time.Millisecond)
	if !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC || !got.LastActive.IsZero() {
		t.Errorf("created_at = %v, last_active = %v; want %v and zero", got.CreatedAt, got.LastActive, want)
	}
	u.ID = "22222222-2222-2222-2222-222222222222"
	if err := s.CreateUser(ctx, u, store.Session{}); !errors.Is(err, store.ErrDuplicateEmail) {
		t.Errorf("same email again = %v, want ErrDuplicateEmail", err)
	}
}

func TestRecordUsageKeepsLatestTimeAndItsAddress(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := store.User{ID: "33333333-3333-3333-3333-333333333333", Email: "u@example.com", Name: "You", PasswordHash: "x", Role: "user", IsActive: true, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u, store.Session{}); err != nil {
		t.Fatal(err)
	}
	k := store.APIKey{ID: "44444444-4444-4444-4444-444444444444", UserID: u.ID, KeyPrefix: "altus4_sk_test_000000000000000", KeyHash: "h",
		Name: "key", Environment: "test", Permissions: []string{"search"}, Tier: "free", IsActive: true, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateAPIKey(ctx, k, func(int) error { return nil }); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		d      store.UsageDelta
		wantOK bool
	}{
		{store.UsageDelta{KeyID: k.ID, Count: 2, LastUsed: now, IP: "192.0.2.1"}, true},
		{store.UsageDelta{KeyID: k.ID, Count: 3, LastUsed: now.Add(-time.Minute), IP: "192.0.2.2"}, true},
		{store.UsageDelta{KeyID: k.ID, Count: 1, LastUsed: now.Add(time.Minute), IP: "192.0.2.3"}, true},
		{store.UsageDelta{KeyID: k.ID, Count: 1, LastUsed: now.Add(30 * time.Second)}, true},
		{store.UsageDelta{KeyID: "55555555-5555-5555-5555-555555555555", Count: 1, LastUsed: now}, false},
	}
	for i, st := range steps {
		ok, err := s.RecordUsage(ctx, st.d)
		if err != nil || ok != st.wantOK {
			t.Fatalf("step %d = %v, %v; want %v", i, ok, err, st.wantOK)
		}
	}
	got, err := s.ActiveAPIKey(ctx, k.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{uint64(7), now.Add(time.Minute), "192.0.2.3"}, []any{got.UsageCount, got.LastUsed, got.LastUsedIP}); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
}
