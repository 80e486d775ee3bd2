// Package edgecache is the result cache's entry for REST searches, shared by
// the search service, which stores it, and the gateway, which answers a
// repeated search from it without calling the search service.
//
// The search service caches every page under a key of the normalised
// request (its own, CacheKey). A page it renders for the REST edge is also
// stored under the edge key of the request as the gateway decoded it from
// the HTTP body (Key): the same versions of the caller's sources
// (VersionKey), the same time to live, its value a CachedPage (the REST
// JSON and what the search's event records). The gateway computes the same
// edge key from the same body, so a hit needs no normalisation at the edge;
// two spellings of one request (an explicit default, say) are two edge
// keys, and the second is answered by the search service's own cache until
// it too has been stored.
package edgecache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
)

// keyVersion changes whenever the key's encoding or CachedPage's meaning
// changes, so that older entries are never read.
const keyVersion = "search-edge-v1"

// VersionKey is the cache version counter of a user's sources: dbrouter
// moves it whenever one of the user's sources is created, updated or
// deleted, or its schema changes, which makes every cached search of the
// user unreachable.
func VersionKey(userID string) string { return "sources:" + userID }

// Key returns the edge key of a search request for a user: "search-edge:"
// + hex(sha256(version, user, deterministic serialization of req)). Every
// field of the request is part of it.
func Key(userID string, req *searchv1.SearchRequest) (string, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("edgecache: key: %w", err)
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(keyVersion), []byte(userID), b} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return "search-edge:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Encode returns the cache value of a page.
func Encode(page *searchv1.CachedPage) ([]byte, error) {
	if err := check(page); err != nil {
		return nil, err
	}
	b, err := proto.Marshal(page)
	if err != nil {
		return nil, fmt.Errorf("edgecache: encode: %w", err)
	}
	return b, nil
}

// Decode reads a cache value back; a value that is not a whole page is an
// error (the caller then asks the search service).
func Decode(value []byte) (*searchv1.CachedPage, error) {
	page := &searchv1.CachedPage{}
	if err := proto.Unmarshal(value, page); err != nil {
		return nil, fmt.Errorf("edgecache: decode: %w", err)
	}
	if err := check(page); err != nil {
		return nil, err
	}
	return page, nil
}

// check insists on a rendered JSON object and a summary.
func check(page *searchv1.CachedPage) error {
	r := page.GetRenderedJson()
	if len(r) < 2 || r[0] != '{' || r[len(r)-1] != '}' {
		return errors.New("edgecache: the page has no JSON rendering")
	}
	if page.GetSummary() == nil {
		return errors.New("edgecache: the page has no summary")
	}
	return nil
}
