// Package providertest is an OpenAI-compatible HTTP server for tests: it
// speaks the real wire format (POST /chat/completions answering a
// chat.completion whose message content is JSON of the response_format
// schema that was sent, POST /embeddings answering a list of embeddings)
// and can be scripted per test: status codes with Retry-After, slow
// answers, malformed or wrong-schema content.
package providertest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Reply scripts one answer. The zero Reply is a valid answer.
type Reply struct {
	// Status other than 0 or 200 answers an OpenAI error object.
	Status int
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// Delay holds the answer back (the request's end cuts it short).
	Delay time.Duration
	// Content replaces the chat message content (e.g. malformed JSON).
	Content string
	// Body replaces the whole response body of a 200.
	Body string
}

// Request is what the server received.
type Request struct {
	Path string
	// Schema is the response_format's json_schema name (chat only).
	Schema string
	// Strict is response_format.json_schema.strict.
	Strict bool
	// Model is the model asked.
	Model string
	// Inputs are the embedding inputs.
	Inputs []string
	// User is the user message's content (chat only).
	User string
	// Body is the raw request body.
	Body []byte
}

// Server is the fake provider.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	script   []Reply
	requests []Request
	hold     chan struct{}
	arrived  chan struct{}
	dims     int
}

// New starts a server that stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{dims: 8, arrived: make(chan struct{}, 1024)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(func() {
		s.Release()
		s.Close()
	})
	return s
}

// BaseURL is the API root to configure the client with.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Script queues replies, used one per request in order; once they run out
// every request gets a valid answer.
func (s *Server) Script(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, r...)
}

// Hold makes every request wait until Release.
func (s *Server) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold == nil {
		s.hold = make(chan struct{})
	}
}

// Release lets held requests answer.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
}

// Arrived receives one value per request as it arrives (before any hold).
func (s *Server) Arrived() <-chan struct{} { return s.arrived }

// Requests returns what was received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests reached path (e.g. "/v1/embeddings").
func (s *Server) Count(path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	ResponseFormat struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Name   string         `json:"name"`
			Strict bool           `json:"strict"`
			Schema map[string]any `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

type embedRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Path: r.URL.Path, Body: body}
	var chat chatRequest
	var emb embedRequest
	switch r.URL.Path {
	case "/v1/chat/completions":
		if err := json.Unmarshal(body, &chat); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Model, req.Schema, req.Strict = chat.Model, chat.ResponseFormat.JSONSchema.Name, chat.ResponseFormat.JSONSchema.Strict
		for _, m := range chat.Messages {
			if m.Role == "user" {
				req.User = m.Content
			}
		}
	case "/v1/embeddings":
		if err := json.Unmarshal(body, &emb); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Model, req.Inputs = emb.Model, emb.Input
	default:
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	var reply Reply
	if len(s.script) > 0 {
		reply, s.script = s.script[0], s.script[1:]
	}
	hold := s.hold
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	if reply.Delay > 0 {
		select {
		case <-time.After(reply.Delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if reply.Status != 0 && reply.Status != http.StatusOK {
		if reply.RetryAfter != "" {
			w.Header().Set("Retry-After", reply.RetryAfter)
		}
		w.WriteHeader(reply.Status)
		fmt.Fprintf(w, `{"error":{"message":"scripted %d","type":"server_error","param":null,"code":null}}`, reply.Status)
		return
	}
	if reply.Body != "" {
		io.WriteString(w, reply.Body)
		return
	}
	var out any
	if r.URL.Path == "/v1/embeddings" {
		data := make([]map[string]any, len(emb.Input))
		for i, in := range emb.Input {
			data[i] = map[string]any{"object": "embedding", "index": i, "embedding": Vector(in, s.dims)}
		}
		out = map[string]any{"object": "list", "data": data, "model": emb.Model, "usage": map[string]any{"prompt_tokens": 3 * len(emb.Input), "total_tokens": 3 * len(emb.Input)}}
	} else {
		content := reply.Content
		if content == "" {
			content = Answer(req.Schema, req.User)
		}
		out = map[string]any{
			"id": "chatcmpl-test", "object": "chat.completion", "created": time.Now().Unix(), "model": chat.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "logprobs": nil,
				"message": map[string]any{"role": "assistant", "content": content, "refusal": nil}}},
			"usage": map[string]any{"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}

// Vector is the fake embedding of a text: dims values from its hash (not normalised).
func Vector(text string, dims int) []float64 {
	sum := sha256.Sum256([]byte(text))
	v := make([]float64, dims)
	for i := range v {
		v[i] = float64(int(sum[i%len(sum)])-128) / 16
	}
	return v
}

// Answer is the valid content for a schema, shaped by the user message
// (one entry per document sent).
func Answer(schema, user string) string {
	var in struct {
		Query     string            `json:"query"`
		Documents []json.RawMessage `json:"documents"`
	}
	_ = json.Unmarshal([]byte(user), &in)
	switch schema {
	case "optimize_query":
		return fmt.Sprintf(`{"rewrites":["provider rewrite of %s"],"synonyms":["provider synonym"],"intent":"informational"}`, strings.ReplaceAll(in.Query, `"`, ""))
	case "categorize":
		parts := make([]string, len(in.Documents))
		for i := range in.Documents {
			parts[i] = fmt.Sprintf(`{"index":%d,"categories":[{"name":"provider category","confidence":0.9}]}`, i)
		}
		return `{"documents":[` + strings.Join(parts, ",") + `]}`
	case "summarize":
		parts := make([]string, len(in.Documents))
		for i := range in.Documents {
			parts[i] = fmt.Sprintf(`{"index":%d,"text":"provider summary %d"}`, i, i)
		}
		return `{"summaries":[` + strings.Join(parts, ",") + `]}`
	case "suggest":
		return `{"suggestions":[{"text":"provider suggestion","score":0.8,"type":"semantic"}]}`
	case "insights":
		return `{"insights":[{"type":"usage","confidence":0.7,"description":"provider insight","actionable":false,"data":[{"name":"total","value":1}]}]}`
	}
	return `{}`
}
