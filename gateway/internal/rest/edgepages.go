package rest

import (
	"sync"
	"time"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
)

// edgePages holds the edge pages this gateway has read, each under the
// source versions it was read at and for no longer than the cache service
// said it had left to live. A repeated search then sends the versions it
// holds a page under (AllowAndGetVersioned's held_versions): while they
// are the current ones the cache service answers "unchanged" and the page
// is not sent again; once a source changes, the versions move and the page
// is read anew. A held page is never older than a page read from the
// cache could be.
type edgePages struct {
	mu    sync.Mutex
	max   int
	size  int
	pages map[string]*heldPage
}

// heldPage is an edge page held under the versions it was read at.
type heldPage struct {
	versions []int64
	page     *searchv1.CachedPage
	expires  time.Time
	size     int
}

// newEdgePages holds up to maxBytes of rendered pages (0 holds none).
func newEdgePages(maxBytes int) *edgePages {
	return &edgePages{max: maxBytes, pages: map[string]*heldPage{}}
}

// get returns the page held under key, if it has not expired.
func (p *edgePages) get(key string, now time.Time) *heldPage {
	if p == nil || p.max <= 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.pages[key]
	if h != nil && !now.Before(h.expires) {
		p.removeLocked(key, h)
		return nil
	}
	return h
}

// put holds a page read under versions for ttl, making room by letting go
// of other pages (any: Go's map order); a page larger than the whole
// budget, or one with no known time to live, is not held.
func (p *edgePages) put(key string, versions []int64, page *searchv1.CachedPage, ttl time.Duration, now time.Time) {
	if p == nil || p.max <= 0 {
		return
	}
	size := len(key) + len(page.GetRenderedJson()) + 256
	if ttl <= 0 || size > p.max {
		p.drop(key)
		return
	}
	h := &heldPage{versions: versions, page: page, expires: now.Add(ttl), size: size}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.pages[key]; old != nil {
		p.removeLocked(key, old)
	}
	for k, other := range p.pages {
		if p.size+size <= p.max {
			break
		}
		p.removeLocked(k, other)
	}
	p.pages[key] = h
	p.size += size
}

// drop lets go of the page held under key.
func (p *edgePages) drop(key string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if h := p.pages[key]; h != nil {
		p.removeLocked(key, h)
	}
}

func (p *edgePages) removeLocked(key string, h *heldPage) {
	delete(p.pages, key)
	p.size -= h.size
}
