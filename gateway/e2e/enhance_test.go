package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/pkg/testenv"
)

// fakeOpenAI speaks the OpenAI wire format: chat completions answering the
// optimize_query schema, and embeddings. It counts requests by path and
// remembers the traceparent headers it got.
type fakeOpenAI struct {
	mu          sync.Mutex
	counts      map[string]int
	traceparent []string
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.counts[r.URL.Path]++
	f.traceparent = append(f.traceparent, r.Header.Get("traceparent"))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/v1/chat/completions":
		var req struct {
			Model          string `json:"model"`
			ResponseFormat struct {
				JSONSchema struct {
					Name string `json:"name"`
				} `json:"json_schema"`
			} `json:"response_format"`
		}
		_ = json.Unmarshal(body, &req)
		if req.ResponseFormat.JSONSchema.Name != "optimize_query" {
			http.Error(w, `{"error":{"message":"unexpected schema","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		content := `{"rewrites":["provider rewrite"],"synonyms":[],"intent":"informational"}`
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-e2e", "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
		})
	case "/v1/embeddings":
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		_ = json.Unmarshal(body, &req)
		data := make([]map[string]any, len(req.Input))
		for i, in := range req.Input {
			data[i] = map[string]any{"object": "embedding", "index": i, "embedding": []float64{float64(len(in)), 1, float64(i)}}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model, "usage": map[string]any{"prompt_tokens": 3, "total_tokens": 3}})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeOpenAI) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[path]
}

// enhanceClient connects to an enhance replica on addr once it serves.
func enhanceClient(t *testing.T, addr string) enhancev1.EnhanceServiceClient {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return enhancev1.NewEnhanceServiceClient(testenv.DialServing(t, context.Background(), p, enhancev1.EnhanceService_ServiceDesc.ServiceName))
}

// Two enhance replicas share the provider's rate limit through the cache
// service and Redis, and share the embeddings cache; provider calls carry
// the caller's trace.
func TestEnhanceReplicasShareTheProviderLimitAndTheEmbeddingsCache(t *testing.T) {
	fake := &fakeOpenAI{counts: map[string]int{}}
	provider := httptest.NewServer(fake)
	t.Cleanup(provider.Close)
	s := StartSuite(t, map[string]string{
		"OPENAI_API_KEY":      "sk-e2e",
		"OPENAI_BASE_URL":     provider.URL + "/v1",
		"ALTUS_AI_RATE_LIMIT": "3",
	})
	port2 := testenv.FreePort(t)
	s.startNamed("enhance-2", "enhance", map[string]string{"ALTUS_GRPC_PORT": strconv.Itoa(port2), "ALTUS_ADMIN_PORT": strconv.Itoa(testenv.FreePort(t))})
	a := enhanceClient(t, s.Env["ALTUS_ENHANCE_ADDR"])
	b := enhanceClient(t, "127.0.0.1:"+strconv.Itoa(port2))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Embeddings: computed once by replica A (one provider call), then
	// read from the shared cache by replica B (no provider call).
	traceID := strings.Repeat("cd", 8) + randomHex(8)
	tctx := metadata.AppendToOutgoingContext(ctx, "traceparent", "00-"+traceID+"-"+randomHex(8)+"-01")
	texts := []string{"redis client", "mysql driver", "search engine"}
	first, err := a.Embed(tctx, &enhancev1.EmbedRequest{Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	if first.GetOrigin().GetSource() != "provider" || first.GetCached() != 0 || fake.count("/v1/embeddings") != 1 {
		t.Fatalf("first embed: origin %v cached %d, %d provider calls", first.GetOrigin(), first.GetCached(), fake.count("/v1/embeddings"))
	}
	fake.mu.Lock()
	tp := fake.traceparent[0]
	fake.mu.Unlock()
	if !strings.Contains(tp, traceID) {
		t.Errorf("the provider call's traceparent %q does not carry the caller's trace %s", tp, traceID)
	}
	second, err := b.Embed(ctx, &enhancev1.EmbedRequest{Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	if second.GetCached() != int32(len(texts)) || second.GetOrigin().GetModel() != "text-embedding-3-small" || fake.count("/v1/embeddings") != 1 {
		t.Errorf("second embed on another replica: origin %v cached %d, %d provider calls; want every text cached, no call",
			second.GetOrigin(), second.GetCached(), fake.count("/v1/embeddings"))
	}

	// Rate limit 3 per minute across replicas: the embeddings call used
	// one; A and B get one each; then both are limited although each
	// replica's own bucket (3) still has tokens.
	var got []string
	for i, c := range []enhancev1.EnhanceServiceClient{a, b, a, b} {
		r, err := c.OptimizeQuery(ctx, &enhancev1.OptimizeQueryRequest{Query: fmt.Sprintf("redis cluster %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.GetOrigin().GetSource()+"/"+r.GetOrigin().GetReason())
		if len(r.GetVariants()) == 0 {
			t.Errorf("call %d: no variants", i)
		}
	}
	want := []string{"provider/", "provider/", "fallback/rate_limited", "fallback/rate_limited"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("origins across replicas = %v, want %v", got, want)
	}
	if n := fake.count("/v1/chat/completions"); n != 2 {
		t.Errorf("%d chat completions reached the provider, want 2", n)
	}
}
