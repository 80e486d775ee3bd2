package edgecache_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/altus4/altus/pkg/edgecache"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
)

func key(t *testing.T, user string, req *searchv1.SearchRequest) string {
	t.Helper()
	k, err := edgecache.Key(user, req)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyIsTheSameForEqualRequestsAndDiffersForAnyField(t *testing.T) {
	ratio := 0.3
	base := &searchv1.SearchRequest{Query: "pool", Databases: []string{"a", "b"}, Limit: 5}
	k := key(t, "u1", base)
	if !strings.HasPrefix(k, "search-edge:") || len(k) != len("search-edge:")+64 {
		t.Fatalf("key %q", k)
	}
	if again := key(t, "u1", proto.Clone(base).(*searchv1.SearchRequest)); again != k {
		t.Errorf("equal requests: %s and %s", k, again)
	}
	variants := map[string]*searchv1.SearchRequest{
		"query":          {Query: "pools", Databases: []string{"a", "b"}, Limit: 5},
		"databases":      {Query: "pool", Databases: []string{"a"}, Limit: 5},
		"database order": {Query: "pool", Databases: []string{"b", "a"}, Limit: 5},
		"tables":         {Query: "pool", Databases: []string{"a", "b"}, Limit: 5, Tables: []string{"t"}},
		"columns":        {Query: "pool", Databases: []string{"a", "b"}, Limit: 5, Columns: []string{"c"}},
		"mode":           {Query: "pool", Databases: []string{"a", "b"}, Limit: 5, SearchMode: "boolean"},
		"limit":          {Query: "pool", Databases: []string{"a", "b"}, Limit: 6},
		"offset":         {Query: "pool", Databases: []string{"a", "b"}, Limit: 5, Offset: 5},
		"analytics":      {Query: "pool", Databases: []string{"a", "b"}, Limit: 5, IncludeAnalytics: true},
		"value length":   {Query: "pool", Databases: []string{"a", "b"}, Limit: 5, MaxValueChars: 10},
		"semantic ratio": {Query: "pool", Databases: []string{"a", "b"}, Limit: 5, SemanticRatio: &ratio},
		"no limit":       {Query: "pool", Databases: []string{"a", "b"}},
	}
	seen := map[string]string{k: "base"}
	for name, req := range variants {
		got := key(t, "u1", req)
		if other, dup := seen[got]; dup {
			t.Errorf("%s has the key of %s", name, other)
		}
		seen[got] = name
	}
	if key(t, "u2", base) == k {
		t.Error("two users' equal requests share a key")
	}
}

func TestEncodeDecodeKeepsThePageAndRefusesWhatIsNotOne(t *testing.T) {
	page := &searchv1.CachedPage{
		RenderedJson: []byte(`{"results":[],"totalCount":0}`),
		Summary:      &searchv1.CachedSearchSummary{Query: "pool", SearchMode: "natural", Databases: []string{"a"}, ResultCount: 0, TotalCount: 0},
	}
	b, err := edgecache.Encode(page)
	if err != nil {
		t.Fatal(err)
	}
	got, err := edgecache.Decode(b)
	if err != nil || !proto.Equal(got, page) {
		t.Fatalf("Decode = %v, %v; want %v", got, err, page)
	}
	for name, bad := range map[string]*searchv1.CachedPage{
		"no rendering":  {Summary: page.Summary},
		"not an object": {RenderedJson: []byte(`[1]`), Summary: page.Summary},
		"no summary":    {RenderedJson: page.RenderedJson},
	} {
		if _, err := edgecache.Encode(bad); err == nil {
			t.Errorf("Encode(%s) succeeded", name)
		}
		raw, _ := proto.Marshal(bad)
		if _, err := edgecache.Decode(raw); err == nil {
			t.Errorf("Decode(%s) succeeded", name)
		}
	}
	if _, err := edgecache.Decode([]byte("\xff\xff not a message")); err == nil {
		t.Error("Decode of garbage succeeded")
	}
}
