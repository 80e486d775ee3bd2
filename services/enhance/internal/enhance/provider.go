package enhance

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Provider is the OpenAI-compatible API as the domain needs it. An adapter
// implements it over the official client; tests run it against a server
// speaking the real wire format.
type Provider interface {
	// Complete asks the chat model for an answer that follows schema (a
	// strict JSON schema named name) and returns the message content
	// untouched, with the tokens used.
	Complete(ctx context.Context, c Completion) (content []byte, u Usage, err error)
	// Embed returns one vector per text, in order, with the tokens used.
	Embed(ctx context.Context, texts []string) ([][]float64, Usage, error)
	// Model names the chat model.
	Model() string
	// EmbeddingModel names the embedding model.
	EmbeddingModel() string
}

// Completion is one structured-output request.
type Completion struct {
	// Name is the response format's name (a-z, 0-9, _ and -).
	Name string
	// Schema is the JSON schema of the answer (strict mode: every property
	// required, no additional properties).
	Schema map[string]any
	// System says what to do; User carries the request's data as JSON.
	System, User string
}

// Usage is what a provider call cost.
type Usage struct {
	PromptTokens, CompletionTokens int64
}

// Provider failures, as the adapter reports them.
var (
	// ErrProviderFailed is a 5xx answer, a refused request or a network failure.
	ErrProviderFailed = errors.New("enhance: the provider failed")
	// ErrMalformedOutput is an answer that is not the JSON of its schema.
	ErrMalformedOutput = errors.New("enhance: the provider's answer does not follow its schema")
)

// RateLimitedError is a 429 answer: no call may be made before RetryAfter
// has passed.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("enhance: the provider is rate limited for %s", e.RetryAfter)
}

// SharedLimiter counts provider calls in a window shared by every replica
// (the cache service's Allow). An error means the shared window is
// unavailable; the local bucket alone then decides.
type SharedLimiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error)
}

// EmbedCache stores provider embeddings by content hash (the cache service's
// Get and Set). Errors are treated as misses and skipped writes.
type EmbedCache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}
