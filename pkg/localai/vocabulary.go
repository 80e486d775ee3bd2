package localai

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/kljensen/snowball/english"
)

// A search's pages repeat rows: the same popular rows come back page after
// page. Categorize therefore keeps, per process, a vocabulary (every word
// it has read, numbered, with its term) and the analysis of the documents
// it read lately (their words that are terms, with counts), keyed by the
// documents' text. A page of documents it has read before costs a lookup
// per document and a pass over numbers, not a scan of the text, a map
// lookup per word and a stem per new word. A document whose text changed
// has another key: it is read again.

// vocabulary numbers words and terms. Within one vocabulary a word's
// number and term never change; when it holds maxVocabularyWords words a
// new one replaces it, and the analyses made under the old one are dropped.
type vocabulary struct {
	mu sync.RWMutex
	// ids numbers the lower-case words; words are their text and term
	// their term (-1: a stopword, shorter than 3 letters or without a
	// letter a to z).
	ids   map[string]int32
	words []string
	term  []int32
	// terms numbers the stems.
	terms map[string]int32
}

func newVocabulary() *vocabulary {
	return &vocabulary{ids: map[string]int32{}, terms: map[string]int32{}}
}

// maxVocabularyWords bounds a vocabulary: at most about 5 MiB of words,
// numbers and maps at this size (10.5 MiB measured for 65,536 words of 14
// letters, each its own term). The pages of make bench's 50 queries fill
// about 2 MiB.
var maxVocabularyWords = 1 << 15

var vocab atomic.Pointer[vocabulary]

func init() { vocab.Store(newVocabulary()) }

// currentVocabulary returns the vocabulary to read with, replacing a full
// one.
func currentVocabulary() *vocabulary {
	v := vocab.Load()
	v.mu.RLock()
	full := len(v.words) >= maxVocabularyWords
	v.mu.RUnlock()
	if full {
		n := newVocabulary()
		if vocab.CompareAndSwap(v, n) {
			// The analyses kept were made under the old vocabulary: of no
			// more use, and they would keep it alive.
			docCache.Lock()
			docCache.cur, docCache.old = map[docKey]*docWords{}, map[docKey]*docWords{}
			docCache.Unlock()
			return n
		}
		return vocab.Load()
	}
	return v
}

// add numbers w (lower case, not yet numbered) and finds its term. The
// caller holds v.mu for writing.
func (v *vocabulary) add(w string) int32 {
	id := int32(len(v.words))
	v.ids[w] = id
	v.words = append(v.words, w)
	t := int32(-1)
	if !IsStopword(w) && len([]rune(w)) >= 3 && HasLetter(w) {
		// Not through Stem's cache: the vocabulary is this word's memory.
		st := english.Stem(w, true)
		var ok bool
		if t, ok = v.terms[st]; !ok {
			t = int32(len(v.terms))
			v.terms[st] = t
		}
	}
	v.term = append(v.term, t)
	return id
}

// wordCount is a word of a document with how often it occurs there.
type wordCount struct {
	word, n int32
}

// docWords is a document's analysis: its words that are terms, in order
// of first occurrence, with their counts, numbered by vocab.
type docWords struct {
	vocab *vocabulary
	words []wordCount
}

// docKey identifies a document's text: the texts of its fields that are
// not category columns, in order. Two 64-bit hashes under random seeds of
// this process: rows of different callers share the cache, so that two
// texts taken for one would mix one caller's words into another's
// categories, a 2^-128 chance per pair that no request can aim at.
type docKey struct {
	h1, h2 uint64
	size   int
}

var docSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func keyOf(d Document) docKey {
	var h [2]maphash.Hash
	h[0].SetSeed(docSeeds[0])
	h[1].SetSeed(docSeeds[1])
	var k docKey
	var n [8]byte
	for _, f := range d.Fields {
		if isCategoryColumn(f.Name) {
			continue
		}
		// Each text is preceded by its length, so that no two sequences
		// of texts write the same bytes.
		binary.LittleEndian.PutUint64(n[:], uint64(len(f.Text)))
		for i := range h {
			h[i].Write(n[:])
			h[i].WriteString(f.Text)
		}
		k.size += len(f.Text)
	}
	k.h1, k.h2 = h[0].Sum64(), h[1].Sum64()
	return k
}

// docCacheSize bounds the analyses kept: at most twice this many, the
// last read (two generations: a full one becomes the old one).
const docCacheSize = 2048

var docCache = struct {
	sync.Mutex
	cur, old map[docKey]*docWords
}{cur: map[docKey]*docWords{}, old: map[docKey]*docWords{}}

func cachedDoc(k docKey) *docWords {
	docCache.Lock()
	defer docCache.Unlock()
	if d, ok := docCache.cur[k]; ok {
		return d
	}
	d, ok := docCache.old[k]
	if ok {
		putDocLocked(k, d)
	}
	return d
}

func putDoc(k docKey, d *docWords) {
	docCache.Lock()
	putDocLocked(k, d)
	docCache.Unlock()
}

func putDocLocked(k docKey, d *docWords) {
	if len(docCache.cur) >= docCacheSize {
		docCache.old, docCache.cur = docCache.cur, make(map[docKey]*docWords, docCacheSize)
	}
	docCache.cur[k] = d
}

// analyze reads d's text fields (not its category columns) under v, using
// s's scratch space.
func (v *vocabulary) analyze(d Document, s *termIndex) *docWords {
	// Read the words first, without a lock; number them under the read
	// lock, and take the write lock only for words never read before.
	s.lowered = s.lowered[:0]
	s.buf = s.buf[:0]
	for _, f := range d.Fields {
		if isCategoryColumn(f.Name) {
			continue
		}
		scanWords(f.Text, func(w string, lower bool) {
			start := len(s.buf)
			if lower {
				s.buf = append(s.buf, w...)
			} else {
				s.buf = appendLower(s.buf, w)
			}
			s.lowered = append(s.lowered, span{start, len(s.buf)})
		})
	}
	out := &docWords{vocab: v}
	clear(s.at)
	missing := false
	count := func(id int32) {
		if v.term[id] < 0 {
			return
		}
		if i, ok := s.at[id]; ok {
			out.words[i].n++
			return
		}
		s.at[id] = int32(len(out.words))
		out.words = append(out.words, wordCount{word: id, n: 1})
	}
	v.mu.RLock()
	for _, sp := range s.lowered {
		id, ok := v.ids[string(s.buf[sp.from:sp.to])] // no copy to look it up
		if !ok {
			missing = true
			break
		}
		count(id)
	}
	v.mu.RUnlock()
	if !missing {
		return out
	}
	out.words = out.words[:0]
	clear(s.at)
	v.mu.Lock()
	for _, sp := range s.lowered {
		id, ok := v.ids[string(s.buf[sp.from:sp.to])]
		if !ok {
			id = v.add(string(s.buf[sp.from:sp.to]))
		}
		count(id)
	}
	v.mu.Unlock()
	return out
}

// span is a word in termIndex.buf.
type span struct{ from, to int }
