package events_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/altus4/altus/services/search/internal/events"
)

func TestInsertClickKeepsTheClickAndAppendsItToTheSearchsClickedResults(t *testing.T) {
	s, db := openStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e := event("u1", "pools", at)
	if err := s.Insert(ctx, []events.Event{e}); err != nil {
		t.Fatal(err)
	}
	for i, pos := range []int{2, 5} {
		c := events.Click{ID: uuid.NewString(), SearchID: e.ID, UserID: "u1", ResultID: "s1:posts:" + string(rune('7'+i)), Position: pos, CreatedAt: at.Add(time.Minute)}
		if err := s.InsertClick(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// A click of another user (refused before it gets here) never touches the row.
	if err := s.InsertClick(ctx, events.Click{ID: uuid.NewString(), SearchID: e.ID, UserID: "u2", ResultID: "x", Position: 1, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	var raw string
	if err := db.QueryRow("SELECT clicked_results FROM search_analytics WHERE id = ?", e.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("clicked_results %q: %v", raw, err)
	}
	want := []map[string]any{
		{"resultId": "s1:posts:7", "position": 2.0, "at": "2026-03-01T12:01:00Z"},
		{"resultId": "s1:posts:8", "position": 5.0, "at": "2026-03-01T12:01:00Z"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clicked_results (-want +got):\n%s", diff)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM search_clicks WHERE search_id = ?", e.ID).Scan(&n); err != nil || n != 3 {
		t.Errorf("search_clicks rows = %d, %v", n, err)
	}
	owner, found, err := s.SearchOwner(ctx, e.ID)
	if err != nil || !found || owner != "u1" {
		t.Errorf("owner = %q, %v, %v", owner, found, err)
	}
	if _, found, err := s.SearchOwner(ctx, uuid.NewString()); found || err != nil {
		t.Errorf("owner of an unknown search: found %v, %v", found, err)
	}
}
