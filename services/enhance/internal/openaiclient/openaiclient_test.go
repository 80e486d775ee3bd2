package openaiclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/services/enhance/internal/enhance"
	"github.com/altus4/altus/services/enhance/internal/openaiclient"
	"github.com/altus4/altus/services/enhance/internal/providertest"
)

func newClient(t *testing.T) (*openaiclient.Client, *providertest.Server) {
	srv := providertest.New(t)
	return openaiclient.New(openaiclient.Options{APIKey: "sk-test", BaseURL: srv.BaseURL(), Model: "gpt-test", EmbeddingModel: "embed-test"}), srv
}

var schema = map[string]any{
	"type": "object", "properties": map[string]any{"intent": map[string]any{"type": "string"}},
	"required": []string{"intent"}, "additionalProperties": false,
}

func TestCompleteSendsAStrictJSONSchemaAndReturnsTheContent(t *testing.T) {
	c, srv := newClient(t)
	srv.Script(providertest.Reply{Content: `{"intent":"navigational"}`})
	content, u, err := c.Complete(context.Background(), enhance.Completion{Name: "optimize_query", Schema: schema, System: "sys", User: `{"query":"q"}`})
	if err != nil {
		t.Fatal(err)
	}
	if string(content) != `{"intent":"navigational"}` || u != (enhance.Usage{PromptTokens: 11, CompletionTokens: 7}) {
		t.Errorf("content %s usage %+v", content, u)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	var body struct {
		Model          string `json:"model"`
		ResponseFormat struct {
			Type       string `json:"type"`
			JSONSchema struct {
				Name   string         `json:"name"`
				Strict bool           `json:"strict"`
				Schema map[string]any `json:"schema"`
			} `json:"json_schema"`
		} `json:"response_format"`
		Messages []struct{ Role, Content string } `json:"messages"`
	}
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Model != "gpt-test" || body.ResponseFormat.Type != "json_schema" || body.ResponseFormat.JSONSchema.Name != "optimize_query" ||
		!body.ResponseFormat.JSONSchema.Strict || body.ResponseFormat.JSONSchema.Schema["additionalProperties"] != false {
		t.Errorf("request %s", reqs[0].Body)
	}
	want := []struct{ Role, Content string }{{"system", "sys"}, {"user", `{"query":"q"}`}}
	if diff := cmp.Diff(want, body.Messages); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

func TestErrorsMapToTheDomainsKindsWithoutRetrying(t *testing.T) {
	tests := []struct {
		name  string
		reply providertest.Reply
		check func(error) bool
	}{
		{"500", providertest.Reply{Status: 500}, func(err error) bool { return errors.Is(err, enhance.ErrProviderFailed) }},
		{"503", providertest.Reply{Status: 503}, func(err error) bool { return errors.Is(err, enhance.ErrProviderFailed) }},
		{"401", providertest.Reply{Status: 401}, func(err error) bool { return errors.Is(err, enhance.ErrProviderFailed) }},
		{"429 with Retry-After", providertest.Reply{Status: 429, RetryAfter: "7"}, func(err error) bool {
			var rl *enhance.RateLimitedError
			return errors.As(err, &rl) && rl.RetryAfter == 7*time.Second
		}},
		{"body not JSON", providertest.Reply{Body: "not json"}, func(err error) bool { return errors.Is(err, enhance.ErrMalformedOutput) }},
		{"refusal", providertest.Reply{Body: `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":null,"refusal":"no"}}]}`},
			func(err error) bool { return errors.Is(err, enhance.ErrMalformedOutput) }},
		{"cut at the token limit", providertest.Reply{Body: `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"length","message":{"role":"assistant","content":"{\"in"}}]}`},
			func(err error) bool { return errors.Is(err, enhance.ErrMalformedOutput) }},
		{"no choice", providertest.Reply{Body: `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[]}`},
			func(err error) bool { return errors.Is(err, enhance.ErrMalformedOutput) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := newClient(t)
			srv.Script(tt.reply)
			_, _, err := c.Complete(context.Background(), enhance.Completion{Name: "optimize_query", Schema: schema})
			if !tt.check(err) {
				t.Errorf("err = %v", err)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("%d requests, want 1 (no retries)", n)
			}
		})
	}
}

func TestTheRequestsDeadlineCutsTheCall(t *testing.T) {
	c, srv := newClient(t)
	srv.Script(providertest.Reply{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := c.Complete(ctx, enhance.Completion{Name: "optimize_query", Schema: schema}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
}

func TestEmbedSendsOneBatchAndOrdersByIndex(t *testing.T) {
	c, srv := newClient(t)
	srv.Script(providertest.Reply{Body: `{"object":"list","model":"embed-test","usage":{"prompt_tokens":4,"total_tokens":4},"data":[` +
		`{"object":"embedding","index":1,"embedding":[0,1]},{"object":"embedding","index":0,"embedding":[1,0]}]}`})
	got, u, err := c.Embed(context.Background(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]float64{{1, 0}, {0, 1}}, got); diff != "" || u.PromptTokens != 4 {
		t.Errorf("vectors (-want +got):\n%s usage %+v", diff, u)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || !cmp.Equal(reqs[0].Inputs, []string{"a", "b"}) || reqs[0].Model != "embed-test" {
		t.Errorf("requests %+v", reqs)
	}
	srv.Script(providertest.Reply{Body: `{"object":"list","model":"m","usage":{"prompt_tokens":1,"total_tokens":1},"data":[{"object":"embedding","index":0,"embedding":[1]}]}`})
	if _, _, err := c.Embed(context.Background(), []string{"a", "b"}); !errors.Is(err, enhance.ErrMalformedOutput) {
		t.Errorf("a missing embedding: err = %v, want malformed output", err)
	}
}

func TestRetryAfterReadsMillisecondsSecondsAndDates(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		header map[string]string
		want   time.Duration
	}{
		{map[string]string{"Retry-After-Ms": "1500"}, 1500 * time.Millisecond},
		{map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{map[string]string{"Retry-After": now.Add(time.Minute).Format(http.TimeFormat)}, time.Minute},
		{map[string]string{"Retry-After": "soon"}, 0},
		{nil, 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		if got := openaiclient.RetryAfter(h, now); got != tt.want {
			t.Errorf("RetryAfter(%v) = %s, want %s", tt.header, got, tt.want)
		}
	}
}
