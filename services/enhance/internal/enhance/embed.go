package enhance

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"math"
	"sync"
	"time"

	"github.com/altus4/altus/pkg/localai"
)

// FallbackDimensions is the length of the local embeddings.
const FallbackDimensions = 256

// embedCacheParallel bounds the concurrent cache calls of one request.
const embedCacheParallel = 16

// EmbedRequest asks for embeddings of texts.
type EmbedRequest struct {
	Texts []string
}

// Embeddings are one L2-normalised vector per text, all from Origin.Model.
type Embeddings struct {
	Vectors [][]float32
	Origin  Origin
	// Cached counts the vectors read from the cache.
	Cached int
}

// EmbedCacheKey is the cache key of a text's embedding by a model.
func EmbedCacheKey(model, text string) string {
	sum := sha256.Sum256([]byte(model + "\x00" + text))
	return "embed:" + hex.EncodeToString(sum[:])
}

// Embed turns texts into vectors: cached provider vectors, one provider
// call for the rest, and the local model for all of them when the
// provider cannot answer (never a mix of models).
func (s *Service) Embed(ctx context.Context, r EmbedRequest) (*Embeddings, error) {
	start := time.Now()
	if err := r.validate(); err != nil {
		return nil, err
	}
	texts := make([]string, len(r.Texts))
	for i, t := range r.Texts {
		texts[i] = cutRunes(t, MaxEmbedChars)
	}
	reason := ReasonNotConfigured
	var vecs [][]float32
	cached := 0
	if s.o.Provider != nil {
		vecs, cached, reason = s.providerEmbeddings(ctx, texts)
	}
	if reason != "" {
		vecs = make([][]float32, len(texts))
		for i, t := range texts {
			vecs[i] = hashedEmbedding(t)
		}
		s.o.Metrics.fallback(CapEmbed, reason)
		return &Embeddings{Vectors: vecs, Cached: 0, Origin: Origin{Source: SourceFallback, Reason: reason, Model: FallbackEmbeddingModel, Elapsed: time.Since(start)}}, nil
	}
	s.o.Metrics.embedCacheHits(cached)
	return &Embeddings{Vectors: vecs, Cached: cached, Origin: Origin{Source: SourceProvider, Model: s.o.Provider.EmbeddingModel(), Elapsed: time.Since(start)}}, nil
}

// providerEmbeddings reads the cache, asks the provider for the texts not
// in it in one call and stores what it answered.
func (s *Service) providerEmbeddings(ctx context.Context, texts []string) ([][]float32, int, string) {
	model := s.o.Provider.EmbeddingModel()
	keys := make([]string, len(texts))
	for i, t := range texts {
		keys[i] = EmbedCacheKey(model, t)
	}
	vecs := make([][]float32, len(texts))
	if s.o.Cache != nil {
		s.eachParallel(len(texts), func(i int) {
			cctx, cancel := context.WithTimeout(ctx, s.o.CacheTimeout)
			defer cancel()
			if b, ok, err := s.o.Cache.Get(cctx, keys[i]); err == nil && ok {
				vecs[i] = decodeVector(b)
			}
		})
	}
	var missing []int
	dims := 0
	for i, v := range vecs {
		if v == nil {
			missing = append(missing, i)
		} else {
			dims = len(v)
		}
	}
	cached := len(texts) - len(missing)
	if len(missing) == 0 {
		return vecs, cached, ""
	}
	batch := make([]string, len(missing))
	for k, i := range missing {
		batch[k] = texts[i]
	}
	var got [][]float64
	reason := s.guard.call(ctx, CapEmbed, func(ctx context.Context) error {
		var u Usage
		var err error
		got, u, err = s.o.Provider.Embed(ctx, batch)
		s.o.Metrics.usage(u)
		if err != nil {
			return err
		}
		if len(got) != len(batch) {
			return malformed("%d embeddings for %d texts", len(got), len(batch))
		}
		for _, v := range got {
			if len(v) == 0 || (dims != 0 && len(v) != dims) || len(v) != len(got[0]) {
				return malformed("embeddings of %d dimensions (want %d)", len(v), max(dims, len(got[0])))
			}
			for _, x := range v {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return malformed("a non-finite embedding value")
				}
			}
		}
		return nil
	})
	if reason != "" {
		return nil, 0, reason
	}
	for k, i := range missing {
		vecs[i] = normalize(got[k])
	}
	if s.o.Cache != nil {
		s.eachParallel(len(missing), func(k int) {
			i := missing[k]
			cctx, cancel := context.WithTimeout(ctx, s.o.CacheTimeout)
			defer cancel()
			if err := s.o.Cache.Set(cctx, keys[i], encodeVector(vecs[i]), s.o.EmbedCacheTTL); err != nil {
				s.o.Log.DebugContext(ctx, "embedding not cached", "error", err)
			}
		})
	}
	return vecs, cached, ""
}

// eachParallel runs fn(0..n-1) with at most embedCacheParallel at once.
func (s *Service) eachParallel(n int, fn func(i int)) {
	sem := make(chan struct{}, embedCacheParallel)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

// normalize returns v as float32, scaled to unit length (a zero vector
// stays zero).
func normalize(v []float64) []float32 {
	var sum float64
	for _, x := range v {
		sum += x * x
	}
	out := make([]float32, len(v))
	if sum == 0 {
		return out
	}
	n := math.Sqrt(sum)
	for i, x := range v {
		out[i] = float32(x / n)
	}
	return out
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// decodeVector returns nil for a value that is not a vector (a miss).
func decodeVector(b []byte) []float32 {
	if len(b) == 0 || len(b)%4 != 0 {
		return nil
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// hashedEmbedding is the local model: a bag of the text's Snowball stems
// (stopwords dropped), feature-hashed into FallbackDimensions with a sign
// from the hash so that collisions cancel rather than add up, weighted by
// 1+log(tf) and L2-normalised. Texts sharing words are near each other.
func hashedEmbedding(text string) []float32 {
	tf := map[string]int{}
	for _, w := range localai.ContentWords(text) {
		tf[localai.Stem(w)]++
	}
	v := make([]float64, FallbackDimensions)
	for st, n := range tf {
		h := fnv.New64a()
		_, _ = h.Write([]byte(st))
		x := h.Sum64()
		w := 1 + math.Log(float64(n))
		if x>>63 == 1 {
			w = -w
		}
		v[x%FallbackDimensions] += w
	}
	return normalize(v)
}
