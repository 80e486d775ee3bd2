package search

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTheEventOfASearchIsItsSearchIdWithThePageOffsetAndTheSourcesTimings(t *testing.T) {
	down := newFakeSource("s2", 3, nil, nil)
	down.err = errors.New("connection refused")
	f := &fakeSources{sources: []*fakeSource{newFakeSource("s1", 8, nil, nil), down}}
	cache := newFakeCache()
	rec := &fakeRecorder{}
	s := newService(f, func(o *Options) { o.Cache = cache; o.Codec = gobCodec{}; o.Events = rec })

	first := search(t, s, Request{Query: "pools", Limit: 2, Offset: 5, Databases: []string{"s1"}})
	s.Wait()
	second := search(t, s, Request{Query: "pools", Limit: 2, Offset: 5, Databases: []string{"s1"}})
	partial := search(t, s, Request{Query: "pools", Limit: 2})
	if !second.Cached || first.Cached {
		t.Fatalf("cached: first %v, second %v", first.Cached, second.Cached)
	}
	evs := rec.events()
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	ids := []string{first.SearchID, second.SearchID, partial.SearchID}
	for i, e := range evs {
		if e.ID != ids[i] || e.ID == "" {
			t.Errorf("event %d has id %q, the response searchId %q", i, e.ID, ids[i])
		}
	}
	if ids[0] == ids[1] {
		t.Error("the cached answer repeats the first searchId")
	}
	if evs[0].ResultOffset != 5 || evs[0].ResultCount != 2 || evs[1].ResultOffset != 5 || evs[2].ResultOffset != 0 {
		t.Errorf("offsets and counts: %+v", evs)
	}
	type timing struct {
		ID     string
		Failed bool
	}
	got := func(i int) []timing {
		var out []timing
		for _, st := range evs[i].Sources {
			out = append(out, timing{st.ID, st.Failed})
		}
		return out
	}
	if diff := cmp.Diff([]timing{{"s1", false}}, got(0)); diff != "" {
		t.Errorf("timings of the first search (-want +got):\n%s", diff)
	}
	if evs[1].Sources != nil {
		t.Errorf("a cached answer recorded the stored page's timings: %+v", evs[1].Sources)
	}
	if diff := cmp.Diff([]timing{{"s1", false}, {"s2", true}}, got(2)); diff != "" {
		t.Errorf("timings of the partial search (-want +got):\n%s", diff)
	}
}
