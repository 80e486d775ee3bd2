// Package openaiclient is the enhancement domain's Provider over the
// official OpenAI Go client, for any OpenAI-compatible API: structured
// outputs (strict JSON schema) for chat completions, batched embeddings,
// no retries of its own (the domain's protections decide), the request's
// deadline on every call, and an OpenTelemetry transport so that each call
// is a client span in the caller's trace.
package openaiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/altus4/altus/services/enhance/internal/enhance"
)

// Options configure a Client.
type Options struct {
	APIKey         string
	BaseURL        string
	Model          string
	EmbeddingModel string
	// Transport carries the requests (default: otelhttp over http.DefaultTransport).
	Transport http.RoundTripper
}

// Client implements enhance.Provider.
type Client struct {
	c          openai.Client
	model      string
	embedModel string
}

// New returns a Client.
func New(o Options) *Client {
	rt := o.Transport
	if rt == nil {
		rt = otelhttp.NewTransport(http.DefaultTransport)
	}
	return &Client{
		c: openai.NewClient(
			option.WithAPIKey(o.APIKey),
			option.WithBaseURL(o.BaseURL),
			option.WithHTTPClient(&http.Client{Transport: rt}),
			// The domain's rate limits, breaker and deadlines decide
			// whether to call again; a hidden retry would defeat them.
			option.WithMaxRetries(0),
		),
		model:      o.Model,
		embedModel: o.EmbeddingModel,
	}
}

// Model names the chat model.
func (c *Client) Model() string { return c.model }

// EmbeddingModel names the embedding model.
func (c *Client) EmbeddingModel() string { return c.embedModel }

// Complete asks for a chat completion in the strict JSON schema and returns
// the message content.
func (c *Client) Complete(ctx context.Context, comp enhance.Completion) ([]byte, enhance.Usage, error) {
	resp, err := c.c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: c.model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(comp.System),
			openai.UserMessage(comp.User),
		},
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
					Name:   comp.Name,
					Strict: openai.Bool(true),
					Schema: comp.Schema,
				},
			},
		},
	})
	if err != nil {
		return nil, enhance.Usage{}, classify(err)
	}
	u := enhance.Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens}
	if len(resp.Choices) == 0 {
		return nil, u, fmt.Errorf("%w: no choice", enhance.ErrMalformedOutput)
	}
	ch := resp.Choices[0]
	switch {
	case ch.Message.Refusal != "":
		return nil, u, fmt.Errorf("%w: refused", enhance.ErrMalformedOutput)
	case ch.FinishReason == "length":
		return nil, u, fmt.Errorf("%w: cut at the token limit", enhance.ErrMalformedOutput)
	}
	return []byte(ch.Message.Content), u, nil
}

// Embed returns one vector per text, in order, from one request.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float64, enhance.Usage, error) {
	resp, err := c.c.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model:          c.embedModel,
		Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts},
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat,
	})
	if err != nil {
		return nil, enhance.Usage{}, classify(err)
	}
	u := enhance.Usage{PromptTokens: resp.Usage.PromptTokens}
	out := make([][]float64, len(texts))
	for _, d := range resp.Data {
		if d.Index < 0 || int(d.Index) >= len(texts) || out[d.Index] != nil {
			return nil, u, fmt.Errorf("%w: embedding index %d", enhance.ErrMalformedOutput, d.Index)
		}
		out[d.Index] = d.Embedding
	}
	for i, v := range out {
		if v == nil {
			return nil, u, fmt.Errorf("%w: no embedding for text %d", enhance.ErrMalformedOutput, i)
		}
	}
	return out, u, nil
}

// classify maps the client's errors to the domain's: 429 (with its
// Retry-After), other HTTP and network failures, unreadable answers;
// context errors pass through.
func classify(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		if apiErr.StatusCode == http.StatusTooManyRequests {
			var h http.Header
			if apiErr.Response != nil {
				h = apiErr.Response.Header
			}
			return &enhance.RateLimitedError{RetryAfter: RetryAfter(h, time.Now())}
		}
		return fmt.Errorf("%w: HTTP %d", enhance.ErrProviderFailed, apiErr.StatusCode)
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %v", enhance.ErrMalformedOutput, err)
	}
	return fmt.Errorf("%w: %v", enhance.ErrProviderFailed, err)
}

// RetryAfter reads how long a 429 asks to wait: Retry-After-Ms, else
// Retry-After in seconds or as an HTTP date; 0 when absent.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
