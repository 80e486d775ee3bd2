package search

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
	"strconv"
	"strings"

	"github.com/altus4/altus/pkg/edgecache"
)

// cacheKeyVersion changes whenever the encoding below or the shape of the
// cached response changes, so that old entries are never read.
const cacheKeyVersion = "search-cache-v5"

// VersionKey is the cache version counter of a user's sources
// (edgecache.VersionKey): dbrouter moves it whenever one of the user's
// sources is created, updated, deleted or its schema changes, which
// invalidates every cached search of the user.
func VersionKey(userID string) string { return edgecache.VersionKey(userID) }

// CacheKey returns the result cache key of a normalised request:
// "search:" + hex(sha256(canonical encoding)). The encoding holds the user,
// the requested source ids, tables and columns (sorted: their order does
// not change the answer), the mode, the query with its whitespace
// collapsed, the offset, the limit, the value length, whether analytics
// were asked (they add the query's optimizations to the page) and, in
// semantic mode, the semantic ratio; every field is length-prefixed, so
// no two different requests encode alike. It is built from the request
// alone so that a hit needs no call to dbrouter; the versions of
// VersionKey(user) make a stale entry unreachable.
func CacheKey(userID string, r Request) string {
	h := sha256.New()
	writeString(h, cacheKeyVersion)
	writeString(h, userID)
	writeList(h, r.Databases)
	writeList(h, r.Tables)
	writeList(h, r.Columns)
	writeString(h, r.Mode)
	writeString(h, strings.Join(strings.Fields(r.Query), " "))
	writeInt(h, r.Offset)
	writeInt(h, r.Limit)
	writeInt(h, r.MaxValueChars)
	writeBool(h, r.IncludeAnalytics)
	if r.Mode == ModeSemantic {
		writeString(h, strconv.FormatFloat(ratioOf(r), 'g', -1, 64))
	}
	return "search:" + hex.EncodeToString(h.Sum(nil))
}

func writeString(h hash.Hash, s string) {
	writeInt(h, len(s))
	h.Write([]byte(s))
}

func writeBool(h hash.Hash, b bool) {
	if b {
		writeInt(h, 1)
		return
	}
	writeInt(h, 0)
}

func writeInt(h hash.Hash, n int) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(int64(n)))
	h.Write(b[:])
}

func writeList(h hash.Hash, items []string) {
	sorted := slices.Clone(items)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	writeInt(h, len(sorted))
	for _, s := range sorted {
		writeString(h, s)
	}
}
