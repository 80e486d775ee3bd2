package rest

import (
	"strings"
	"testing"
	"time"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
)

func page(n int) *searchv1.CachedPage {
	return &searchv1.CachedPage{RenderedJson: []byte("{" + strings.Repeat(" ", n) + "}"), Summary: &searchv1.CachedSearchSummary{}}
}

func TestHeldEdgePagesExpireWithTheTTLTheyCameWith(t *testing.T) {
	p := newEdgePages(1 << 20)
	now := time.Now()
	p.put("k", []int64{3}, page(10), 2*time.Second, now)
	if h := p.get("k", now.Add(time.Second)); h == nil || h.versions[0] != 3 {
		t.Fatalf("within its ttl: %v", h)
	}
	if h := p.get("k", now.Add(2*time.Second)); h != nil {
		t.Fatal("a page was held past its ttl")
	}
	if p.size != 0 || len(p.pages) != 0 {
		t.Errorf("an expired page still counts: %d bytes, %d pages", p.size, len(p.pages))
	}
	p.put("k", []int64{3}, page(10), 0, now)
	if p.get("k", now) != nil {
		t.Error("a page with no known ttl was held")
	}
}

func TestHeldEdgePagesStayWithinTheirBudget(t *testing.T) {
	p := newEdgePages(4000)
	now := time.Now()
	for i := range 10 {
		p.put(strings.Repeat("k", i+1), []int64{1}, page(1000), time.Minute, now)
		if p.size > 4000 {
			t.Fatalf("after %d pages: %d bytes held, budget 4000", i+1, p.size)
		}
	}
	if p.get("kkkkkkkkkk", now) == nil {
		t.Error("the newest page was not held")
	}
	p.put("big", []int64{1}, page(5000), time.Minute, now)
	if p.get("big", now) != nil {
		t.Error("a page larger than the whole budget was held")
	}
	p.put("kkkkkkkkkk", []int64{2}, page(10), time.Minute, now)
	if h := p.get("kkkkkkkkkk", now); h == nil || h.versions[0] != 2 {
		t.Errorf("a replaced page: %v", h)
	}
	p.drop("kkkkkkkkkk")
	if p.get("kkkkkkkkkk", now) != nil {
		t.Error("a dropped page is still held")
	}
	var none *edgePages = newEdgePages(0)
	none.put("k", []int64{1}, page(1), time.Minute, now)
	if none.get("k", now) != nil {
		t.Error("a zero budget held a page")
	}
}
