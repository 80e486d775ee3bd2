package e2e

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/pkg/testenv"
)

// Provider behaviours of the fake OpenAI-compatible server.
const (
	providerOK        = "ok"
	providerRateLimit = "429"
	providerError     = "500"
	providerSlow      = "slow"
	providerMalformed = "malformed"
)

// fakeProvider is an httptest server speaking the OpenAI wire format
// (POST /v1/chat/completions with response_format json_schema, POST
// /v1/embeddings). It records every request body, so that tests can tell
// what left for the provider. Embeddings: a text holding the marker
// "qzxdoc<N>" gets the unit vector at the angle set for N (SetAngles;
// default N/10 radians); any other text (the query) the vector at angle 0.
type fakeProvider struct {
	srv *httptest.Server

	mu     sync.Mutex
	mode   string
	delay  time.Duration
	angles map[int]float64
	bodies []string
}

var docMarker = regexp.MustCompile(`qzxdoc(\d+)`)

func newFakeProvider(t testing.TB) *fakeProvider {
	p := &fakeProvider{mode: providerOK, delay: 5 * time.Second}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

// BaseURL is the OPENAI_BASE_URL of the fake.
func (p *fakeProvider) BaseURL() string { return p.srv.URL + "/v1" }

// SetMode changes how the fake answers from now on.
func (p *fakeProvider) SetMode(mode string) {
	p.mu.Lock()
	p.mode = mode
	p.mu.Unlock()
}

// SetDelay sets how long a providerSlow answer takes.
func (p *fakeProvider) SetDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// SetAngles sets the embedding angle of documents by marker number.
func (p *fakeProvider) SetAngles(a map[int]float64) {
	p.mu.Lock()
	p.angles = a
	p.mu.Unlock()
}

// Received returns the request bodies received since the last call.
func (p *fakeProvider) Received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.bodies
	p.bodies = nil
	return out
}

func (p *fakeProvider) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.bodies = append(p.bodies, string(body))
	mode, delay := p.mode, p.delay
	p.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer e2e-key" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"message": "bad key", "type": "invalid_request_error"}})
		return
	}
	switch mode {
	case providerRateLimit:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
			"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}})
		return
	case providerError:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]any{
			"message": "The server had an error while processing your request.", "type": "server_error"}})
		return
	case providerSlow:
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	malformed := mode == providerMalformed
	switch {
	case strings.HasSuffix(r.URL.Path, "/embeddings"):
		p.embeddings(w, body, malformed)
	case strings.HasSuffix(r.URL.Path, "/chat/completions"):
		p.chat(w, body, malformed)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"message": "no route " + r.URL.Path}})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *fakeProvider) vector(text string) []float32 {
	a := 0.0
	if m := docMarker.FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[1])
		p.mu.Lock()
		v, ok := p.angles[n]
		p.mu.Unlock()
		a = float64(n) / 10
		if ok {
			a = v
		}
	}
	return []float32{float32(math.Cos(a)), float32(math.Sin(a)), 0}
}

func (p *fakeProvider) embeddings(w http.ResponseWriter, body []byte, malformed bool) {
	var req struct {
		Input          json.RawMessage `json:"input"`
		Model          string          `json:"model"`
		EncodingFormat string          `json:"encoding_format"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"message": err.Error()}})
		return
	}
	var inputs []string
	if err := json.Unmarshal(req.Input, &inputs); err != nil {
		var one string
		if err := json.Unmarshal(req.Input, &one); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"message": "input must be text"}})
			return
		}
		inputs = []string{one}
	}
	data := []map[string]any{}
	for i, text := range inputs {
		if malformed && i == len(inputs)-1 {
			break // one embedding too few
		}
		v := p.vector(text)
		var emb any = v
		if req.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(v))
			for k, x := range v {
				binary.LittleEndian.PutUint32(buf[4*k:], math.Float32bits(x))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": emb})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": req.Model,
		"usage": map[string]any{"prompt_tokens": 3 * len(inputs), "total_tokens": 3 * len(inputs)}})
}

// resultID matches the result ids a request may carry.
var resultID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[A-Za-z0-9_]+:[A-Za-z0-9_%.-]+`)

func (p *fakeProvider) chat(w http.ResponseWriter, body []byte, malformed bool) {
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		ResponseFormat struct {
			Type       string `json:"type"`
			JSONSchema struct {
				Name   string         `json:"name"`
				Schema map[string]any `json:"schema"`
			} `json:"json_schema"`
		} `json:"response_format"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"message": err.Error()}})
		return
	}
	ids := slices.Compact(slices.Sorted(slices.Values(resultID.FindAllString(string(body), -1))))
	var indexes []int
	for _, m := range req.Messages {
		var text string
		if json.Unmarshal(m.Content, &text) != nil {
			continue
		}
		for _, x := range indexRef.FindAllStringSubmatch(text, -1) {
			if n, err := strconv.Atoi(x[1]); err == nil && !slices.Contains(indexes, n) {
				indexes = append(indexes, n)
			}
		}
	}
	content := "this is not the JSON you asked for"
	if !malformed {
		g := schemaGen{root: req.ResponseFormat.JSONSchema.Schema, ids: ids, indexes: indexes}
		b, _ := json.Marshal(g.value(req.ResponseFormat.JSONSchema.Schema, "", 0))
		content = string(b)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": "chatcmpl-e2e", "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "logprobs": nil,
			"message": map[string]any{"role": "assistant", "content": content, "refusal": nil}}},
		"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
	})
}

// indexRef matches the positions of documents in a prompt.
var indexRef = regexp.MustCompile(`"index":\s*(\d+)`)

// schemaGen writes a value that conforms to a JSON schema: every property,
// one item per array (one per document of the request for arrays of
// objects with an "index" or an "id"), enums' first value.
type schemaGen struct {
	root    map[string]any
	ids     []string
	indexes []int
}

func (g schemaGen) resolve(s map[string]any) map[string]any {
	ref, ok := s["$ref"].(string)
	if !ok {
		return s
	}
	for _, prefix := range []string{"#/$defs/", "#/definitions/"} {
		if name, ok := strings.CutPrefix(ref, prefix); ok {
			defs, _ := g.root[strings.Trim(prefix[1:], "/")].(map[string]any)
			if d, ok := defs[name].(map[string]any); ok {
				return d
			}
		}
	}
	return map[string]any{}
}

func (g schemaGen) value(s map[string]any, name string, depth int) any {
	s = g.resolve(s)
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		if alts, ok := s[k].([]any); ok && len(alts) > 0 {
			if a, ok := alts[0].(map[string]any); ok {
				return g.value(a, name, depth)
			}
		}
	}
	typ := s["type"]
	if ts, ok := typ.([]any); ok && len(ts) > 0 {
		typ = ts[0]
	}
	switch typ {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for k, v := range props {
			if ps, ok := v.(map[string]any); ok && depth < 8 {
				out[k] = g.value(ps, k, depth+1)
			}
		}
		return out
	case "array":
		items, _ := s["items"].(map[string]any)
		items = g.resolve(items)
		n := 1
		if props, ok := items["properties"].(map[string]any); ok {
			if _, hasIndex := props["index"]; hasIndex && len(g.indexes) > 0 {
				out := make([]any, len(g.indexes))
				for i, ix := range g.indexes {
					v, _ := g.value(items, name, depth+1).(map[string]any)
					v["index"] = ix
					out[i] = v
				}
				return out
			}
			if _, hasID := props["id"]; hasID && len(g.ids) > 0 {
				out := make([]any, len(g.ids))
				for i, id := range g.ids {
					v, _ := g.value(items, name, depth+1).(map[string]any)
					v["id"] = id
					out[i] = v
				}
				return out
			}
		}
		out := make([]any, n)
		for i := range out {
			out[i] = g.value(items, name, depth+1)
		}
		return out
	case "string":
		if name == "id" && len(g.ids) > 0 {
			return g.ids[0]
		}
		return "e2e " + name
	case "number":
		return 0.8
	case "integer":
		return 1
	case "boolean":
		return true
	}
	return nil
}

// semanticDoc is a row of the semantic tenant's docs table: marker N
// appears in its title ("qzxdoc<N>") and body; the body also holds
// "qzxbody<N>", and the unindexed secret column "qzxcol<N>".
type semanticDoc struct {
	n           int
	title, body string
}

// semanticTenant creates a tenant database with a docs table (one
// FULLTEXT index over title and body, an unindexed secret column): rows
// mention "engine" 1 to n times (so the full-text ranks differ), and
// fillers do not. Each tenant's texts are its own (a random word of its
// own in every body), so none has an embedding cached by another test.
func semanticTenant(t testing.TB, n int) Tenant {
	t.Helper()
	salt := "salt" + strings.ToLower(testenv.RandomSuffix(8))
	db, cfg := testenv.OpenDatabase(t)
	tenant := Tenant{Database: cfg.Database, User: "altus_t_" + testenv.RandomSuffix(8), Password: "Pw-" + testenv.RandomSuffix(16), DB: db}
	stmts := []string{`CREATE TABLE docs (
			id INT PRIMARY KEY,
			title VARCHAR(200) NOT NULL,
			body TEXT NOT NULL,
			secret VARCHAR(100),
			FULLTEXT KEY ft_docs (title, body)
		) ENGINE=InnoDB`}
	var docs []semanticDoc
	for i := 1; i <= n; i++ {
		docs = append(docs, semanticDoc{n: i, title: fmt.Sprintf("Handbook qzxdoc%d", i),
			body: strings.Repeat("engine ", i) + fmt.Sprintf("maintenance notes qzxbody%d %s%d", i, salt, i)})
	}
	for i := n + 1; i <= 2*n+2; i++ {
		docs = append(docs, semanticDoc{n: i, title: fmt.Sprintf("Gardening qzxdoc%d", i), body: fmt.Sprintf("roses tulips compost qzxbody%d %s%d", i, salt, i)})
	}
	for _, d := range docs {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO docs (id, title, body, secret) VALUES (%d, '%s', '%s', 'qzxcol%d')", d.n, d.title, d.body, d.n))
	}
	stmts = append(stmts,
		"CREATE USER '"+tenant.User+"'@'%' IDENTIFIED BY '"+tenant.Password+"'",
		"CREATE USER '"+tenant.User+"'@'localhost' IDENTIFIED BY '"+tenant.Password+"'",
		"GRANT SELECT ON `"+tenant.Database+"`.* TO '"+tenant.User+"'@'%'",
		"GRANT SELECT ON `"+tenant.Database+"`.* TO '"+tenant.User+"'@'localhost'",
	)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("semantic tenant: %v", err)
		}
	}
	t.Cleanup(func() {
		db.Exec("DROP USER IF EXISTS '" + tenant.User + "'@'%'")
		db.Exec("DROP USER IF EXISTS '" + tenant.User + "'@'localhost'")
	})
	return tenant
}

// addDatabaseWith registers the tenant database for u with extra fields
// (e.g. aiEgress) and returns its id.
func (s *Suite) addDatabaseWith(t testing.TB, u User, name string, tenant Tenant, extra map[string]any) string {
	t.Helper()
	cfg := testenv.ServerConfig()
	body := map[string]any{"name": name, "host": cfg.Host, "port": cfg.Port, "database": tenant.Database,
		"username": tenant.User, "password": tenant.Password}
	for k, v := range extra {
		body[k] = v
	}
	r := s.Call(t, http.MethodPost, "/api/v1/databases", u.Token, body)
	Expect(t, r, http.StatusCreated, "")
	var c struct {
		ID        string   `json:"id"`
		AIEgress  string   `json:"aiEgress"`
		AIColumns []string `json:"aiColumns"`
	}
	r.Decode(t, &c)
	return c.ID
}

type enhancement struct {
	Capability string  `json:"capability"`
	Source     string  `json:"source"`
	Reason     string  `json:"reason"`
	ElapsedMs  float64 `json:"elapsedMs"`
}

type enhancedPage struct {
	searchData
	Categories []struct {
		Name       string  `json:"name"`
		Count      int     `json:"count"`
		Confidence float64 `json:"confidence"`
	} `json:"categories"`
	Enhancements []enhancement `json:"enhancements"`
}

func (d enhancedPage) enhancement(capability string) (enhancement, bool) {
	for _, e := range d.Enhancements {
		if e.Capability == capability {
			return e, true
		}
	}
	return enhancement{}, false
}

// enhancedSearch posts a search and decodes its 200 answer.
func (s *Suite) enhancedSearch(t testing.TB, key string, body map[string]any, headers ...string) enhancedPage {
	t.Helper()
	r := s.Call(t, http.MethodPost, "/api/v1/search", key, body, headers...)
	Expect(t, r, http.StatusOK, "")
	var d enhancedPage
	r.Decode(t, &d)
	return d
}

func docIDs(t testing.TB, d enhancedPage) []int {
	t.Helper()
	out := make([]int, len(d.Results))
	for i, r := range d.Results {
		n, err := strconv.Atoi(r.ID[strings.LastIndexByte(r.ID, ':')+1:])
		if err != nil {
			t.Fatalf("result id %q", r.ID)
		}
		out[i] = n
	}
	return out
}

// fusedSQLOrder computes the lexical ranking of query over docs from the
// database itself: the natural and expansion statements, fused by RRF.
func fusedSQLOrder(t testing.TB, tenant Tenant, query string, window int) []int {
	t.Helper()
	score := map[int]float64{}
	for _, mode := range []string{"IN NATURAL LANGUAGE MODE", "WITH QUERY EXPANSION"} {
		rows, err := tenant.DB.Query("SELECT id FROM docs WHERE MATCH(title, body) AGAINST(? "+mode+") ORDER BY MATCH(title, body) AGAINST(? "+mode+") DESC, id LIMIT ?", query, query, window)
		if err != nil {
			t.Fatal(err)
		}
		rank := 0
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			rank++
			score[id] += 1 / float64(60+rank)
		}
		rows.Close()
	}
	ids := make([]int, 0, len(score))
	for id := range score {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int) int {
		if c := cmp.Compare(score[b], score[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return ids
}

func TestSemanticSearchThroughTheRealEnhanceService(t *testing.T) {
	provider := newFakeProvider(t)
	s := StartSuite(t, map[string]string{
		"OPENAI_BASE_URL":              provider.BaseURL(),
		"OPENAI_API_KEY":               "e2e-key",
		"ALTUS_ENHANCE_BUDGET":         "1s",
		"ALTUS_SEARCH_SEMANTIC_BUDGET": "2s",
	})
	u := s.Register(t)
	_, key := s.CreateKey(t, u, map[string]any{"name": "semantic key", "permissions": []string{"search", "analytics"}})

	t.Run("embeddings reorder the full-text candidates; ratio 0 keeps the full-text order", func(t *testing.T) {
		tenant := semanticTenant(t, 6)
		id := s.addDatabaseWith(t, u, "semantic order", tenant, nil)
		base := map[string]any{"query": "engine", "searchMode": "semantic", "databases": []string{id}, "limit": 50}

		lexical := s.enhancedSearch(t, key, with(base, "semanticRatio", 0))
		want := fusedSQLOrder(t, tenant, "engine", 100)
		if diff := gocmp.Diff(want, docIDs(t, lexical)); diff != "" {
			t.Fatalf("ratio 0 (-full-text fusion of the database +search):\n%s", diff)
		}
		if lexical.SearchMode != "semantic" {
			t.Errorf("mode %q", lexical.SearchMode)
		}
		// The embeddings put the full-text ranking upside down.
		angles := map[int]float64{}
		for i, n := range want {
			angles[n] = float64(len(want)-i) * 0.1
		}
		provider.SetAngles(angles)
		semantic := s.enhancedSearch(t, key, with(base, "semanticRatio", 1))
		reversed := slices.Clone(want)
		slices.Reverse(reversed)
		if diff := gocmp.Diff(reversed, docIDs(t, semantic)); diff != "" {
			t.Errorf("ratio 1 (-embedding order +search):\n%s", diff)
		}
		if e, _ := semantic.enhancement("semantic"); e.Source != "provider" {
			t.Errorf("semantic enhancement %+v, want provider", e)
		}
		if semantic.TotalCount != lexical.TotalCount || semantic.TotalCount == 0 {
			t.Errorf("totals %d and %d, want the full-text matches in both", semantic.TotalCount, lexical.TotalCount)
		}
		if e, _ := semantic.enhancement("categories"); e.Source != "provider" || len(semantic.Categories) == 0 {
			t.Errorf("categories enhancement %+v, categories %+v; want the provider's", e, semantic.Categories)
		}
	})

	t.Run("listed egress sends only the listed columns; none sends nothing of the rows", func(t *testing.T) {
		tenant := semanticTenant(t, 4)
		r := s.Call(t, http.MethodPost, "/api/v1/databases", u.Token, map[string]any{
			"name": "bad", "host": testenv.ServerConfig().Host, "port": testenv.ServerConfig().Port, "database": tenant.Database,
			"username": tenant.User, "password": tenant.Password, "aiEgress": "listed", "aiColumns": []string{"docs.title", "docs.nothing"}})
		Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
		if !strings.Contains(string(r.Raw), "docs.nothing") {
			t.Errorf("the error does not name the unknown column: %s", r.Raw)
		}

		id := s.addDatabaseWith(t, u, "listed", tenant, map[string]any{"aiEgress": "listed", "aiColumns": []string{"docs.title"}})
		body := map[string]any{"query": "engine", "searchMode": "semantic", "databases": []string{id}}
		provider.Received()
		s.enhancedSearch(t, key, body)
		sent := strings.Join(provider.Received(), "\n")
		if !strings.Contains(sent, "qzxdoc") {
			t.Errorf("no listed column reached the provider: %q", sent)
		}
		for _, m := range []string{"qzxbody", "qzxcol"} {
			if strings.Contains(sent, m) {
				t.Errorf("a column not listed (%s) reached the provider", m)
			}
		}

		r = s.Call(t, http.MethodPut, "/api/v1/databases/"+id, u.Token, map[string]any{"aiEgress": "none"})
		Expect(t, r, http.StatusOK, "")
		// The same search again: the policy change moved the sources'
		// version, so it is not served from the cache of the old policy.
		d := s.enhancedSearch(t, key, body)
		if d.Cached {
			t.Error("a page of the old policy was served from the cache")
		}
		sent = strings.Join(provider.Received(), "\n")
		for _, m := range []string{"qzxdoc", "qzxbody", "qzxcol"} {
			if strings.Contains(sent, m) {
				t.Errorf("row text (%s) reached the provider under egress none", m)
			}
		}
		if len(d.Results) == 0 {
			t.Error("no results under egress none")
		}
	})

	t.Run("a failing provider never fails a search", func(t *testing.T) {
		// Rows never embedded before, so no cached embedding answers.
		tenant := semanticTenant(t, 5)
		id := s.addDatabaseWith(t, u, "failing provider", tenant, nil)
		provider.SetDelay(10 * time.Second)
		defer provider.SetMode(providerOK)
		for _, mode := range []string{providerRateLimit, providerError, providerSlow, providerMalformed} {
			provider.SetMode(mode)
			for _, sm := range []string{"semantic", "natural"} {
				// A query asked nowhere else: the enhance service caches provider
				// answers, and a healthy provider answered "engine" before.
				q := "engine " + strings.ReplaceAll(mode, "-", "") + "qzx"
				d := s.enhancedSearch(t, key, map[string]any{"query": q, "searchMode": sm, "databases": []string{id}, "includeAnalytics": true},
					"Cache-Control", "no-cache")
				if len(d.Results) == 0 || d.SearchMode != sm {
					t.Errorf("%s/%s: mode %q, %d results", mode, sm, d.SearchMode, len(d.Results))
				}
				if len(d.Enhancements) == 0 {
					t.Errorf("%s/%s: no enhancements reported", mode, sm)
				}
				for _, e := range d.Enhancements {
					if e.Source == "provider" || e.Source == "" || (e.Source != "skipped" && e.Source != "fallback") {
						t.Errorf("%s/%s: %+v, want fallback or skipped", mode, sm, e)
					}
				}
				if sm == "semantic" {
					if e, ok := d.enhancement("semantic"); !ok || e.Source != "fallback" {
						t.Errorf("%s: semantic enhancement %+v, want fallback", mode, e)
					}
					if !slices.Contains(d.noticeCodes(), "SEMANTIC_UNAVAILABLE") {
						t.Errorf("%s: notices %v", mode, d.noticeCodes())
					}
				}
			}
		}
	})
}

// with returns a copy of m with k set to v.
func with(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

// percentile returns the p-th percentile (0..1) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(math.Ceil(p*float64(len(sorted))))-1)]
}

// BenchmarkSearchEnhancement measures what AI enhancement adds to a search
// through the gateway (uncached: Cache-Control no-cache): a natural search
// (categories) and a semantic one (embeddings too), with no provider, a
// fast one, a slow one (200 ms answers) and one answering 500. It reports
// the p50 and p99 latencies in milliseconds.
func BenchmarkSearchEnhancement(b *testing.B) {
	cases := []struct {
		name  string
		mode  string
		delay time.Duration
		env   bool
	}{
		{"off", providerOK, 0, false},
		{"provider-fast", providerOK, 0, true},
		{"provider-slow", providerSlow, 200 * time.Millisecond, true},
		{"provider-down", providerError, 0, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			provider := newFakeProvider(b)
			provider.SetMode(c.mode)
			provider.SetDelay(c.delay)
			env := map[string]string{"ALTUS_AUTH_RATE_LIMIT": "1000000", "ALTUS_AI_RATE_LIMIT": "1000000"}
			if c.env {
				env["OPENAI_BASE_URL"], env["OPENAI_API_KEY"] = provider.BaseURL(), "e2e-key"
			}
			s := StartSuite(b, env)
			u := s.Register(b)
			_, key := s.CreateKey(b, u, map[string]any{"name": "bench key", "permissions": []string{"search"}})
			if _, err := s.DB.Exec("UPDATE api_keys SET rate_limit_tier = 'enterprise'"); err != nil {
				b.Fatal(err)
			}
			id := s.addDatabaseWith(b, u, "bench", semanticTenant(b, 20), nil)
			for _, sm := range []string{"natural", "semantic"} {
				// "repeated" asks one query again and again (the enhance
				// service's answer and embedding caches serve it after the
				// first time); "distinct" asks a query never asked before each
				// time, so every enhancement is a provider call.
				for _, q := range []string{"repeated", "distinct"} {
					b.Run(sm+"/"+q, func(b *testing.B) {
						benchEnhancedSearch(b, s, key, id, sm, q == "distinct")
					})
				}
			}
		})
	}
}

// benchEnhancedSearch runs uncached searches and reports their p50 and p99.
func benchEnhancedSearch(b *testing.B, s *Suite, key, id, mode string, distinct bool) {
	body := map[string]any{"query": "engine maintenance", "searchMode": mode, "databases": []string{id}}
	var lat []time.Duration
	n := 0
	b.ResetTimer()
	for b.Loop() {
		if distinct {
			n++
			body["query"] = fmt.Sprintf("engine maintenance q%dx%d", time.Now().UnixNano()%1e6, n)
		}
		start := time.Now()
		r := s.Call(b, http.MethodPost, "/api/v1/search", key, body, "Cache-Control", "no-cache")
		lat = append(lat, time.Since(start))
		if r.Status != http.StatusOK {
			b.Fatalf("search: %d %s", r.Status, r.Raw)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
}
