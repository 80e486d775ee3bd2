package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/testenv"
	"github.com/altus4/altus/services/dbrouter/internal/migrations"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	db, _ := testenv.OpenDatabase(t)
	if _, err := migrate.Up(context.Background(), db, migrations.Service, migrations.FS, nil); err != nil {
		t.Fatal(err)
	}
	return New(db)
}

var t0 = time.Date(2026, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

func source(userID string) Source {
	return Source{
		ID: uuid.NewString(), UserID: userID, Name: "n", Host: "h", Port: 3306, Database: "d", Username: "u",
		Password: "iv:tag:ct", IsActive: true, Status: "connected", LastTested: t0, CreatedAt: t0, UpdatedAt: t0, Version: 1,
		AIEgress: "fulltext",
	}
}

func TestTheAIEgressPolicyAndItsColumnsRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := source("u1")
	src.AIEgress, src.AIColumns = "listed", []string{"articles.title", "notes.body"}
	if err := s.Insert(ctx, src); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "u1", src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(src, got); diff != "" {
		t.Errorf("inserted (-want +got):\n%s", diff)
	}
	src.AIEgress, src.AIColumns = "none", nil
	if src.Version, err = s.Update(ctx, src); err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, "u1", src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(src, got); diff != "" {
		t.Errorf("updated (-want +got):\n%s", diff)
	}
	unset := source("u1")
	unset.AIEgress = ""
	if err := s.Insert(ctx, unset); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "u1", unset.ID); err != nil || got.AIEgress != "fulltext" {
		t.Errorf("a source saved without a policy reads %q, %v; want fulltext", got.AIEgress, err)
	}
}

func TestInsertedSourceReadsBackOnlyForItsUser(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := source("u1")
	src.LastTested = time.Time{}
	if err := s.Insert(ctx, src); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "u1", src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(src, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	if _, err := s.Get(ctx, "u2", src.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get by another user = %v, want ErrNotFound", err)
	}
}

func TestUpdateIsConditionalOnTheVersionRead(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := source("u1")
	if err := s.Insert(ctx, src); err != nil {
		t.Fatal(err)
	}
	first := src
	first.Name = "first"
	v, err := s.Update(ctx, first)
	if err != nil || v != 2 {
		t.Fatalf("Update = %d, %v; want version 2", v, err)
	}
	stale := src // still at version 1
	stale.Name = "stale"
	if _, err := s.Update(ctx, stale); !errors.Is(err, ErrConflict) {
		t.Errorf("Update of a stale version = %v, want ErrConflict", err)
	}
	other := src
	other.UserID, other.Version = "u2", 2
	if _, err := s.Update(ctx, other); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update by another user = %v, want ErrNotFound", err)
	}
	got, _ := s.Get(ctx, "u1", src.ID)
	if got.Name != "first" || got.Version != 2 {
		t.Errorf("row = %q v%d, want the first update only", got.Name, got.Version)
	}
}

func TestSoftDeleteHidesTheRowAndMovesItsVersion(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := source("u1")
	if err := s.Insert(ctx, src); err != nil {
		t.Fatal(err)
	}
	if err := s.SoftDelete(ctx, "u2", src.ID, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("SoftDelete by another user = %v, want ErrNotFound", err)
	}
	if err := s.SoftDelete(ctx, "u1", src.ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SoftDelete(ctx, "u1", src.ID, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("second SoftDelete = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "u1", src.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after SoftDelete = %v, want ErrNotFound", err)
	}
	if list, _ := s.List(ctx, "u1"); len(list) != 0 {
		t.Errorf("List after SoftDelete = %v, want empty", list)
	}
	updated := src
	updated.Name = "x"
	if _, err := s.Update(ctx, updated); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update after SoftDelete = %v, want ErrNotFound", err)
	}
}

func TestSetStatusKeepsTheVersion(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := source("u1")
	if err := s.Insert(ctx, src); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	if err := s.SetStatus(ctx, "u1", src.ID, "failed", at); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, "u1", src.ID)
	if got.Status != "failed" || !got.LastTested.Equal(at) || got.Version != 1 {
		t.Errorf("row = %q %v v%d, want failed at %v, version 1", got.Status, got.LastTested, got.Version, at)
	}
}

func TestVersionsListsLiveSourcesAcrossBatches(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var ids []string
	want := map[string]int{}
	for i := range versionsBatch + 3 {
		src := source(fmt.Sprintf("u%d", i%3))
		if err := s.Insert(ctx, src); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, src.ID)
		want[src.ID] = 1
	}
	if err := s.SoftDelete(ctx, "u0", ids[0], t0); err != nil {
		t.Fatal(err)
	}
	delete(want, ids[0])
	ids = append(ids, uuid.NewString()) // unknown
	got, err := s.Versions(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Versions (-want +got):\n%s", diff)
	}
}

func TestReadReplicasRoundTripAndClearToNone(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	src := source("u1")
	src.Replicas = []Replica{{Host: "r1.example", Port: 3307}, {Host: "10.0.0.9", Port: 3306}}
	if err := s.Insert(ctx, src); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "u1", src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(src, got); diff != "" {
		t.Errorf("inserted (-want +got):\n%s", diff)
	}
	src.Replicas = nil
	if src.Version, err = s.Update(ctx, src); err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, "u1", src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(src, got); diff != "" {
		t.Errorf("cleared (-want +got):\n%s", diff)
	}
}
