package search

import "testing"

func TestCacheKeyEqualForEquivalentRequests(t *testing.T) {
	base := Request{Query: "connection pools", Databases: []string{"a", "b"}, Tables: []string{"t1", "t2"},
		Columns: []string{"title"}, Mode: ModeNatural, Limit: 20, Offset: 0}
	same := []Request{
		{Query: "connection   pools", Databases: []string{"a", "b"}, Tables: []string{"t1", "t2"}, Columns: []string{"title"}, Mode: ModeNatural, Limit: 20},
		{Query: "connection pools", Databases: []string{"b", "a"}, Tables: []string{"t2", "t1"}, Columns: []string{"title"}, Mode: ModeNatural, Limit: 20},
		{Query: "connection pools", Databases: []string{"a", "b", "a"}, Tables: []string{"t1", "t2"}, Columns: []string{"title"}, Mode: ModeNatural, Limit: 20},
		{Query: "connection pools", Databases: []string{"a", "b"}, Tables: []string{"t1", "t2"}, Columns: []string{"title"}, Mode: ModeNatural, Limit: 20, SemanticRatio: ptr(0.7)},
	}
	want := CacheKey("u1", base)
	semantic := base
	semantic.Mode = ModeSemantic
	same = append(same, semantic)
	for i, r := range same {
		if r.Mode == ModeSemantic {
			want = CacheKey("u1", Request{Query: base.Query, Databases: base.Databases, Tables: base.Tables, Columns: base.Columns,
				Mode: ModeSemantic, Limit: 20, SemanticRatio: ptr(DefaultSemanticRatio)})
		}
		if got := CacheKey("u1", r); got != want {
			t.Errorf("equivalent request %d has another key", i)
		}
	}
}

func TestCacheKeyChangesWithEveryFieldAndTheUser(t *testing.T) {
	base := Request{Query: "connection pools", Databases: []string{"a"}, Tables: []string{"t"},
		Columns: []string{"c"}, Mode: ModeNatural, Limit: 20, Offset: 0}
	variants := map[string]func(r *Request){
		"query":          func(r *Request) { r.Query = "connection pool" },
		"query case":     func(r *Request) { r.Query = "Connection pools" },
		"databases":      func(r *Request) { r.Databases = []string{"b"} },
		"no databases":   func(r *Request) { r.Databases = nil },
		"tables":         func(r *Request) { r.Tables = []string{"u"} },
		"columns":        func(r *Request) { r.Columns = []string{"d"} },
		"mode":           func(r *Request) { r.Mode = ModeBoolean },
		"semantic":       func(r *Request) { r.Mode = ModeSemantic },
		"semantic ratio": func(r *Request) { r.Mode, r.SemanticRatio = ModeSemantic, ptr(0.25) },
		"ratio 0":        func(r *Request) { r.Mode, r.SemanticRatio = ModeSemantic, ptr(0.0) },
		"analytics":      func(r *Request) { r.IncludeAnalytics = true },
		"limit":          func(r *Request) { r.Limit = 21 },
		"offset":         func(r *Request) { r.Offset = 20 },
		"list boundary":  func(r *Request) { r.Databases, r.Tables = []string{"a", "t"}, nil },
		"field boundary": func(r *Request) { r.Tables, r.Columns = []string{"t", "c"}, nil },
	}
	seen := map[string]string{CacheKey("u1", base): "base"}
	for name, change := range variants {
		r := base
		change(&r)
		k := CacheKey("u1", r)
		if other, dup := seen[k]; dup {
			t.Errorf("%s has the key of %s", name, other)
		}
		seen[k] = name
	}
	if CacheKey("u1", base) == CacheKey("u2", base) {
		t.Error("two users share a key")
	}
	if CacheKey("", base) == CacheKey("u1", base) {
		t.Error("the user is not part of the key")
	}
}
