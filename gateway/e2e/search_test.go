package e2e

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/pkg/testenv"
)

// searchResult is a result as the REST API returns it.
type searchResult struct {
	ID             string         `json:"id"`
	Table          string         `json:"table"`
	Database       string         `json:"database"`
	RelevanceScore float64        `json:"relevanceScore"`
	MatchedColumns []string       `json:"matchedColumns"`
	Data           map[string]any `json:"data"`
	Snippet        string         `json:"snippet"`
	Highlights     []struct {
		Column    string   `json:"column"`
		Fragments []string `json:"fragments"`
	} `json:"highlights"`
}

type sourceStatus struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Status    string  `json:"status"`
	RowCount  int     `json:"rowCount"`
	ElapsedMs float64 `json:"elapsedMs"`
	ErrorCode string  `json:"errorCode"`
	Message   string  `json:"message"`
}

type notice struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Terms   []string `json:"terms"`
}

type suggestion struct {
	Text  string  `json:"text"`
	Score float64 `json:"score"`
	Type  string  `json:"type"`
}

type searchData struct {
	Results           []searchResult `json:"results"`
	Suggestions       []suggestion   `json:"suggestions"`
	QueryOptimization []struct {
		Type          string `json:"type"`
		Description   string `json:"description"`
		SQLSuggestion string `json:"sqlSuggestion"`
	} `json:"queryOptimization"`
	TotalCount     int            `json:"totalCount"`
	TotalEstimated bool           `json:"totalEstimated"`
	ExecutionTime  int            `json:"executionTime"`
	Page           int            `json:"page"`
	Limit          int            `json:"limit"`
	Sources        []sourceStatus `json:"sources"`
	SearchMode     string         `json:"searchMode"`
	Notices        []notice       `json:"notices"`
	Cached         bool           `json:"cached"`
}

func (d searchData) ids() []string {
	out := make([]string, len(d.Results))
	for i, r := range d.Results {
		out[i] = r.ID
	}
	return out
}

func (d searchData) source(id string) sourceStatus {
	for _, s := range d.Sources {
		if s.ID == id {
			return s
		}
	}
	return sourceStatus{}
}

func (d searchData) noticeCodes() []string {
	var out []string
	for _, n := range d.Notices {
		out = append(out, n.Code)
	}
	return out
}

// doSearch posts a search and decodes a 200 answer.
func (s *Suite) doSearch(t *testing.T, key string, body map[string]any) searchData {
	t.Helper()
	r := s.Call(t, http.MethodPost, "/api/v1/search", key, body)
	Expect(t, r, http.StatusOK, "")
	var d searchData
	r.Decode(t, &d)
	return d
}

// pageData is the data of a search answer as JSON values, without the
// members that change with every answer (cached, executionTime, searchId).
func pageData(t *testing.T, r *Response) map[string]any {
	t.Helper()
	var m map[string]any
	r.Decode(t, &m)
	if _, ok := m["cached"]; !ok {
		t.Errorf("no cached member: %s", r.Raw)
	}
	if _, ok := m["executionTime"]; !ok {
		t.Errorf("no executionTime member: %s", r.Raw)
	}
	if id, _ := m["searchId"].(string); len(id) != 36 {
		t.Errorf("searchId %v is not an event id: %s", m["searchId"], r.Raw)
	}
	delete(m, "cached")
	delete(m, "executionTime")
	delete(m, "searchId")
	return m
}

// Words the fixture text is made of; "pool" and "connection" appear with
// varying frequency so that scores differ from row to row.
var fixtureWords = []string{"replica", "latency", "cursor", "index", "vacuum", "shard", "backup", "schema", "tuning", "buffer"}

// sentence returns a deterministic text for row i with n mentions of word.
func sentence(i, n int, word string) string {
	var b strings.Builder
	for k := range 6 + i%5 {
		// The last two words appear in titles only.
		b.WriteString(fixtureWords[(i*7+k*3)%(len(fixtureWords)-2)])
		b.WriteByte(' ')
	}
	for range n {
		b.WriteString(word + " ")
	}
	b.WriteString(fmt.Sprintf("entry %d.", i))
	return b.String()
}

// searchTenants creates two user databases with FULLTEXT tables:
//   - docs: articles (two FULLTEXT indexes: title; title+body) and notes
//     (no FULLTEXT index);
//   - kb: posts (one FULLTEXT index over subject+content) with a BIGINT key.
func searchTenants(t testing.TB) (docs, kb Tenant) {
	t.Helper()
	docs = TenantDatabase(t) // articles(ft_title_body, ft_title) and notes
	kb = TenantDatabase(t)
	exec := func(db *sql.DB, q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(docs.DB, "DELETE FROM articles")
	for i := 1; i <= 60; i++ {
		exec(docs.DB, "INSERT INTO articles (id, title, body, author) VALUES (?, ?, ?, ?)", i,
			fmt.Sprintf("Connection pool notes %d %s", i, fixtureWords[i%len(fixtureWords)]),
			sentence(i, i%4, "pool")+" "+sentence(i+1, i%3, "connection"), fmt.Sprintf("author%d", i%5))
	}
	for i := 1; i <= 5; i++ {
		exec(docs.DB, "INSERT INTO notes (owner, seq, content) VALUES (?, ?, ?)", "ada", i, "connection pool note "+strconv.Itoa(i))
	}
	exec(kb.DB, "DROP TABLE articles")
	exec(kb.DB, "DROP TABLE notes")
	exec(kb.DB, `CREATE TABLE posts (
		id BIGINT UNSIGNED PRIMARY KEY,
		subject VARCHAR(200) NOT NULL,
		content TEXT,
		FULLTEXT KEY ft_post (subject, content)
	) ENGINE=InnoDB`)
	for i := 1; i <= 45; i++ {
		var content any = sentence(i, (i*5)%7, "pool") + " " + sentence(i, i%2, "connection")
		if i%9 == 0 {
			content = nil
		}
		exec(kb.DB, "INSERT INTO posts (id, subject, content) VALUES (?, ?, ?)", 1000+i,
			fmt.Sprintf("Pool sizing %d %s", i, fixtureWords[(i*3)%len(fixtureWords)]), content)
	}
	return docs, kb
}

// sqlOrder returns MariaDB's own order of a natural-language search of
// posts (score desc, primary key asc) and the number of matches.
func sqlOrder(t *testing.T, db *sql.DB, query string) ([]int64, int) {
	t.Helper()
	rows, err := db.Query(`SELECT id, MATCH(subject, content) AGAINST(? IN NATURAL LANGUAGE MODE) AS score FROM posts
		WHERE MATCH(subject, content) AGAINST(? IN NATURAL LANGUAGE MODE) ORDER BY score DESC, id ASC`, query, query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		var score float64
		if err := rows.Scan(&id, &score); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids, len(ids)
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSearch(t *testing.T) {
	// Events are written every 50 ms, and spelling suggestions get time
	// enough on a loaded machine.
	s := StartSuite(t, map[string]string{"ALTUS_SEARCH_EVENT_FLUSH_INTERVAL": "50ms", "ALTUS_SEARCH_DIDYOUMEAN_TIMEOUT": "3s"})
	docs, kb := searchTenants(t)
	u := s.Register(t)
	_, key := s.CreateKey(t, u, map[string]any{"name": "search key", "permissions": []string{"search", "analytics"}})
	connDocs := s.AddDatabase(t, u, "docs", docs)
	connKB := s.AddDatabase(t, u, "kb", kb)

	t.Run("every mode answers", func(t *testing.T) {
		for _, tc := range []struct {
			mode, query, wantMode string
			wantNotice            string
		}{
			{"natural", "connection pool", "natural", ""},
			{"boolean", "+pool* -replica", "boolean", ""},
			{"expansion", "sizing", "expansion", ""},
			{"semantic", "connection pool", "semantic", "SEMANTIC_UNAVAILABLE"},
			{"", "pool", "natural", ""},
		} {
			d := s.doSearch(t, key, map[string]any{"query": tc.query, "searchMode": tc.mode})
			if d.SearchMode != tc.wantMode || len(d.Results) == 0 || d.TotalCount < len(d.Results) {
				t.Errorf("%s: mode %q, %d results of %d", tc.mode, d.SearchMode, len(d.Results), d.TotalCount)
			}
			if tc.wantNotice != "" && !slices.Contains(d.noticeCodes(), tc.wantNotice) {
				t.Errorf("%s: notices %v, want %s", tc.mode, d.noticeCodes(), tc.wantNotice)
			}
			if got := d.source(connDocs.ID).Status; got != "ok" {
				t.Errorf("%s: docs %q", tc.mode, got)
			}
		}
	})

	t.Run("a boolean exclusion excludes", func(t *testing.T) {
		// columns=[body] keeps the index over title and body only.
		d := s.doSearch(t, key, map[string]any{"query": "+pool -tuning", "searchMode": "boolean", "limit": 100,
			"databases": []string{connDocs.ID}, "columns": []string{"body"}})
		want := count(t, docs.DB, "SELECT COUNT(*) FROM articles WHERE MATCH(title, body) AGAINST('+pool -tuning' IN BOOLEAN MODE)")
		if d.TotalCount != want || want == 0 || len(d.Results) != want {
			t.Errorf("total %d, %d results, want %d", d.TotalCount, len(d.Results), want)
		}
		for _, r := range d.Results {
			for _, col := range []string{"title", "body"} {
				if v, _ := r.Data[col].(string); strings.Contains(strings.ToLower(v), "tuning") {
					t.Errorf("%s contains an excluded word: %v", r.ID, r.Data)
				}
			}
		}
	})

	t.Run("one index in natural mode has MariaDB's own order and paging", func(t *testing.T) {
		want, total := sqlOrder(t, kb.DB, "connection pool")
		if total < 15 {
			t.Fatalf("fixture too small: %d matches", total)
		}
		var got []int64
		for page := range 3 {
			d := s.doSearch(t, key, map[string]any{"query": "connection pool", "databases": []string{connKB.ID}, "limit": 5, "offset": page * 5})
			if d.TotalCount != total || d.TotalEstimated || d.Page != page+1 {
				t.Errorf("page %d: total %d (estimated %v), page %d; want total %d", page+1, d.TotalCount, d.TotalEstimated, d.Page, total)
			}
			for _, r := range d.Results {
				got = append(got, int64(r.Data["id"].(float64)))
				if r.Database != connKB.ID || r.Table != "posts" || r.ID != connKB.ID+":posts:"+strconv.FormatInt(int64(r.Data["id"].(float64)), 10) {
					t.Errorf("result %s: database %s, table %s", r.ID, r.Database, r.Table)
				}
				if r.RelevanceScore <= 0 || r.RelevanceScore > 1 {
					t.Errorf("relevance %v", r.RelevanceScore)
				}
			}
		}
		if diff := cmp.Diff(want[:15], got); diff != "" {
			t.Errorf("pages 1..3 are not MariaDB's order (-sql +altus):\n%s", diff)
		}
	})

	t.Run("fused pages are disjoint slices of the fused list with true totals", func(t *testing.T) {
		body := func(limit, offset int) map[string]any {
			return map[string]any{"query": "pool", "limit": limit, "offset": offset}
		}
		pageReads := func(read string) int {
			return metricSum(t, s, s.AdminPort("search"), "altus4_search_page_reads_total{", `read="`+read+`"`)
		}
		withBefore, afterBefore := pageReads("with_ranking"), pageReads("after")
		top := s.doSearch(t, key, body(15, 0))
		if len(top.Results) != 15 {
			t.Fatalf("%d results in the top 15", len(top.Results))
		}
		seen := map[string]bool{}
		for page := range 3 {
			d := s.doSearch(t, key, body(5, page*5))
			if diff := cmp.Diff(top.ids()[page*5:page*5+5], d.ids()); diff != "" {
				t.Errorf("page %d (-top list +page):\n%s", page+1, diff)
			}
			for _, id := range d.ids() {
				if seen[id] {
					t.Errorf("%s on two pages", id)
				}
				seen[id] = true
			}
		}
		// The first pages (15 and 5 results) were read in the rankings'
		// calls, each database its own first rows, and held every row of
		// the page: dbrouter fused each database's rankings as the search
		// service does. The next pages were read after the rankings.
		if with, after := pageReads("with_ranking")-withBefore, pageReads("after")-afterBefore; with != 2 || after != 0 {
			t.Errorf("first pages read with the rankings %d, after them %d; want 2 and 0", with, after)
		}
		wantDocs := count(t, docs.DB, "SELECT COUNT(*) FROM articles WHERE MATCH(title, body) AGAINST('pool') OR MATCH(title) AGAINST('pool')")
		wantKB := count(t, kb.DB, "SELECT COUNT(*) FROM posts WHERE MATCH(subject, content) AGAINST('pool')")
		if top.TotalCount != wantDocs+wantKB || top.TotalEstimated {
			t.Errorf("total %d (estimated %v), want %d + %d", top.TotalCount, top.TotalEstimated, wantDocs, wantKB)
		}
		if got := top.source(connDocs.ID).RowCount; got != wantDocs {
			t.Errorf("docs row count %d, want %d", got, wantDocs)
		}
		for _, r := range top.Results {
			if len(r.MatchedColumns) == 0 || r.Snippet == "" || len(r.Highlights) == 0 || !strings.Contains(r.Highlights[0].Fragments[0], "<mark>") {
				t.Errorf("result %s: matched %v, snippet %q, highlights %+v", r.ID, r.MatchedColumns, r.Snippet, r.Highlights)
			}
		}
		// Every article matches both of its table's indexes, so they all
		// rank above the posts (found by one index); the posts follow.
		all := s.doSearch(t, key, body(100, 0))
		tables := map[string]int{}
		for i, r := range all.Results {
			tables[r.Database+"/"+r.Table]++
			if r.Database == connKB.ID && i < wantDocs {
				t.Errorf("post %s at %d, above articles found by two indexes", r.ID, i)
			}
		}
		if len(tables) != 2 || tables[connDocs.ID+"/articles"] != wantDocs {
			t.Errorf("the list of 100 holds %v, want the %d articles then posts", tables, wantDocs)
		}
	})

	t.Run("data carries the key and the searchable columns, typed", func(t *testing.T) {
		d := s.doSearch(t, key, map[string]any{"query": "sizing", "databases": []string{connKB.ID}, "limit": 100})
		var sawNull bool
		for _, r := range d.Results {
			if _, ok := r.Data["id"].(float64); !ok {
				t.Errorf("id is %T, want a number", r.Data["id"])
			}
			if _, ok := r.Data["subject"].(string); !ok {
				t.Errorf("subject is %T", r.Data["subject"])
			}
			if v, present := r.Data["content"]; present && v == nil {
				sawNull = true
			}
		}
		if !sawNull {
			t.Error("no NULL content came back as null")
		}
	})

	t.Run("unknown tables and columns are named", func(t *testing.T) {
		r := s.Call(t, http.MethodPost, "/api/v1/search", key, map[string]any{"query": "pool", "tables": []string{"nope"}, "columns": []string{"zzz"}})
		Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
		for _, name := range []string{"tables", "columns", "nope", "zzz"} {
			if !strings.Contains(string(r.Error.Details), name) {
				t.Errorf("details do not name %q: %s", name, r.Error.Details)
			}
		}
		r = s.Call(t, http.MethodPost, "/api/v1/search", key, map[string]any{"query": " ", "limit": 500, "searchMode": "fuzzy"})
		Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
		for _, field := range []string{`"query"`, `"limit"`, `"searchMode"`} {
			if !strings.Contains(string(r.Error.Details), field) {
				t.Errorf("details do not name %s: %s", field, r.Error.Details)
			}
		}
	})

	t.Run("nothing searchable answers empty with an explanation", func(t *testing.T) {
		d := s.doSearch(t, key, map[string]any{"query": "the of an"})
		if len(d.Results) != 0 || d.TotalCount != 0 || !slices.Contains(d.noticeCodes(), "NO_SEARCHABLE_TERMS") {
			t.Errorf("results %d, total %d, notices %+v", len(d.Results), d.TotalCount, d.Notices)
		}
		d = s.doSearch(t, key, map[string]any{"query": "the pool"})
		if len(d.Results) == 0 || !slices.Contains(d.noticeCodes(), "TERMS_IGNORED") {
			t.Errorf("results %d, notices %+v", len(d.Results), d.Notices)
		}
	})

	t.Run("a table without FULLTEXT is not searched and is named by analyze", func(t *testing.T) {
		d := s.doSearch(t, key, map[string]any{"query": "note", "tables": []string{"notes"}})
		if len(d.Results) != 0 || d.source(connDocs.ID).Status != "skipped" || d.source(connDocs.ID).ErrorCode != "NO_FULLTEXT_INDEX" {
			t.Errorf("results %d, docs %+v", len(d.Results), d.source(connDocs.ID))
		}
		r := s.Call(t, http.MethodPost, "/api/v1/search/analyze", key, map[string]any{"query": "connection pool", "databases": []string{connDocs.ID}})
		Expect(t, r, http.StatusOK, "")
		var a struct {
			Query           string         `json:"query"`
			Recommendations []string       `json:"recommendations"`
			Performance     map[string]any `json:"performance"`
			Optimization    []struct {
				Type          string `json:"type"`
				Description   string `json:"description"`
				SQLSuggestion string `json:"sqlSuggestion"`
			} `json:"optimization"`
		}
		r.Decode(t, &a)
		named := false
		for _, rec := range a.Recommendations {
			named = named || strings.Contains(rec, "`notes`")
		}
		if !named {
			t.Errorf("no recommendation names notes: %q", a.Recommendations)
		}
		wantSQL := "ALTER TABLE `" + docs.Database + "`.`notes` ADD FULLTEXT INDEX `ft_content` (`content`)"
		found := false
		for _, o := range a.Optimization {
			if o.SQLSuggestion == wantSQL && o.Type == "index" && strings.Contains(o.Description, "blocks writes") {
				found = true
			}
			if strings.Contains(o.SQLSuggestion, "`title`") || strings.Contains(o.SQLSuggestion, "`body`") {
				t.Errorf("advice for a covered column: %s", o.SQLSuggestion)
			}
		}
		if !found {
			t.Errorf("no optimization %q in %+v", wantSQL, a.Optimization)
		}
		raw := string(r.Raw)
		if !strings.Contains(raw, "MATCH(") || !strings.Contains(raw, "explain") || strings.Contains(raw, "'connection pool'") {
			t.Errorf("analyze does not show the placeholder statements and their EXPLAIN: %s", raw)
		}
	})

	t.Run("cache hit on the second search, invalidated by an update of the source", func(t *testing.T) {
		body := map[string]any{"query": "connection tuning", "limit": 7}
		r1 := s.Call(t, http.MethodPost, "/api/v1/search", key, body)
		Expect(t, r1, http.StatusOK, "")
		r2 := s.Call(t, http.MethodPost, "/api/v1/search", key, body)
		Expect(t, r2, http.StatusOK, "")
		var first, second searchData
		r1.Decode(t, &first)
		r2.Decode(t, &second)
		if first.Cached || !second.Cached {
			t.Fatalf("cached: first %v, second %v", first.Cached, second.Cached)
		}
		// The cached page is the page, but for cached and executionTime.
		if diff := cmp.Diff(pageData(t, r1), pageData(t, r2)); diff != "" {
			t.Errorf("cached page differs (-first +second):\n%s", diff)
		}
		r := s.Call(t, http.MethodPost, "/api/v1/search", key, body, "Cache-Control", "no-cache")
		Expect(t, r, http.StatusOK, "")
		var fresh searchData
		r.Decode(t, &fresh)
		if fresh.Cached {
			t.Error("Cache-Control: no-cache was answered from the cache")
		}
		r = s.Call(t, http.MethodPut, "/api/v1/databases/"+connKB.ID, u.Token, map[string]any{"name": "kb renamed"})
		Expect(t, r, http.StatusOK, "")
		third := s.doSearch(t, key, body)
		if third.Cached {
			t.Error("a page cached before the source changed was served after it")
		}
		if got := third.source(connKB.ID).Name; got != "kb renamed" {
			t.Errorf("source name %q after the update", got)
		}
	})

	t.Run("a no-cache search stores its page for the search service, not for the edge", func(t *testing.T) {
		body := map[string]any{"query": "pool sizing", "limit": 2}
		gatewayHits := func() int {
			return metricSum(t, s, s.AdminPort("gateway"), "altus4_edge_cache_requests_total{", `result="hit"`)
		}
		r := s.Call(t, http.MethodPost, "/api/v1/search", key, body, "Cache-Control", "no-cache")
		Expect(t, r, http.StatusOK, "")
		// The page is stored in the background: the next searches are
		// answered by the search service from it, never by the edge.
		for deadline := time.Now().Add(10 * time.Second); ; {
			hits := gatewayHits()
			var d searchData
			r := s.Call(t, http.MethodPost, "/api/v1/search", key, body)
			Expect(t, r, http.StatusOK, "")
			r.Decode(t, &d)
			if gatewayHits() != hits {
				t.Fatal("the edge answered from a page stored by a no-cache search")
			}
			if d.Cached {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the page of a no-cache search was not stored")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("a repeated search is answered at the edge, counted and recorded like any other", func(t *testing.T) {
		body := map[string]any{"query": "replica latency", "limit": 4}
		first := s.Call(t, http.MethodPost, "/api/v1/search", key, body)
		Expect(t, first, http.StatusOK, "")
		gatewayHits := func() int {
			return metricSum(t, s, s.AdminPort("gateway"), "altus4_edge_cache_requests_total{", `result="hit"`)
		}
		searchRPCs := func() int {
			return metricSum(t, s, s.AdminPort("search"), "grpc_server_handled_total{", `grpc_method="Search"`)
		}
		// The search service stores the edge page in the background.
		var edge *Response
		for deadline := time.Now().Add(10 * time.Second); ; {
			hits, rpcs := gatewayHits(), searchRPCs()
			r := s.Call(t, http.MethodPost, "/api/v1/search", key, body)
			Expect(t, r, http.StatusOK, "")
			if gatewayHits() == hits+1 {
				if got := searchRPCs(); got != rpcs {
					t.Errorf("an edge-answered search reached the search service (%d Search calls, %d before)", got, rpcs)
				}
				edge = r
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no repeated search was answered at the edge")
			}
			time.Sleep(50 * time.Millisecond)
		}
		var d struct {
			searchData
			SearchID string `json:"searchId"`
		}
		edge.Decode(t, &d)
		if !d.Cached {
			t.Error("an edge-answered page says cached: false")
		}
		if diff := cmp.Diff(pageData(t, first), pageData(t, edge)); diff != "" {
			t.Errorf("the edge's page differs from the search service's (-service +edge):\n%s", diff)
		}
		// Asked again, the gateway answers from the page it holds: the
		// cache service only confirms that the versions are current.
		heldBefore := metricSum(t, s, s.AdminPort("gateway"), "altus4_edge_held_pages_used_total")
		again := s.Call(t, http.MethodPost, "/api/v1/search", key, body)
		Expect(t, again, http.StatusOK, "")
		if got := metricSum(t, s, s.AdminPort("gateway"), "altus4_edge_held_pages_used_total"); got != heldBefore+1 {
			t.Errorf("held pages used: %d, %d before; want one more", got, heldBefore)
		}
		if diff := cmp.Diff(pageData(t, first), pageData(t, again)); diff != "" {
			t.Errorf("the held page differs from the search service's (-service +edge):\n%s", diff)
		}
		for _, h := range []string{"Content-Type", "X-RateLimit-Limit", "X-RateLimit-Tier"} {
			if first.Header.Get(h) != edge.Header.Get(h) {
				t.Errorf("%s: %q from the search service, %q from the edge", h, first.Header.Get(h), edge.Header.Get(h))
			}
		}
		was, _ := strconv.Atoi(first.Header.Get("X-RateLimit-Remaining"))
		now, _ := strconv.Atoi(edge.Header.Get("X-RateLimit-Remaining"))
		if now >= was || edge.Header.Get("X-Request-ID") == "" {
			t.Errorf("rate limit remaining %d after %d; request id %q", now, was, edge.Header.Get("X-Request-ID"))
		}
		var meta struct {
			Meta struct {
				RequestID  string `json:"requestId"`
				APIKeyTier string `json:"apiKeyTier"`
			} `json:"meta"`
		}
		if err := json.Unmarshal(edge.Raw, &meta); err != nil || meta.Meta.RequestID != edge.Header.Get("X-Request-ID") || meta.Meta.APIKeyTier == "" {
			t.Errorf("meta of the edge's answer: %s", edge.Raw)
		}

		// A click right away finds the search recorded.
		click := map[string]any{"searchId": d.SearchID, "resultId": d.Results[0].ID, "position": 1}
		Expect(t, s.Call(t, http.MethodPost, "/api/v1/search/clicks", key, click), http.StatusOK, "")
		type event struct {
			ID          string `json:"id"`
			Query       string `json:"query"`
			ResultCount int    `json:"resultCount"`
		}
		// The search service writes its events every 50 ms.
		for deadline := time.Now().Add(10 * time.Second); ; {
			var events []event
			r := s.Call(t, http.MethodGet, "/api/v1/search/history?limit=5", key, nil)
			Expect(t, r, http.StatusOK, "")
			r.Decode(t, &events)
			i := slices.IndexFunc(events, func(e event) bool { return e.ID == d.SearchID })
			if i >= 0 {
				if events[i].Query != "replica latency" || events[i].ResultCount != d.TotalCount {
					t.Errorf("the edge-answered search in history: %+v; want the query and %d results", events[i], d.TotalCount)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the edge-answered search %s is not in the history: %+v", d.SearchID, events)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("another user's source is not found", func(t *testing.T) {
		other := s.Register(t)
		_, otherKey := s.CreateKey(t, other, map[string]any{"name": "other key"})
		r := s.Call(t, http.MethodPost, "/api/v1/search", otherKey, map[string]any{"query": "pool", "databases": []string{connDocs.ID}})
		Expect(t, r, http.StatusNotFound, "CONNECTION_NOT_FOUND")
		d := s.doSearch(t, otherKey, map[string]any{"query": "pool"})
		if len(d.Results) != 0 || !slices.Contains(d.noticeCodes(), "NO_DATABASES") {
			t.Errorf("a user without databases: %d results, notices %+v", len(d.Results), d.Notices)
		}
	})

	t.Run("did you mean, and completions from history and text", func(t *testing.T) {
		d := s.doSearch(t, key, map[string]any{"query": "conection"})
		if len(d.Results) != 0 {
			t.Fatalf("%d results for a misspelling", len(d.Results))
		}
		if len(d.Suggestions) == 0 || d.Suggestions[0].Text != "connection" || d.Suggestions[0].Type != "spelling" {
			t.Errorf("suggestions for %q: %+v", "conection", d.Suggestions)
		}
		var sugs struct {
			Suggestions []suggestion `json:"suggestions"`
		}
		r := s.Call(t, http.MethodGet, "/api/v1/search/suggestions?query=conn&tables=articles,posts", key, nil)
		Expect(t, r, http.StatusOK, "")
		r.Decode(t, &sugs)
		if !slices.ContainsFunc(sugs.Suggestions, func(s suggestion) bool { return s.Text == "connection" && s.Type == "semantic" }) {
			t.Errorf("no completion from the text: %+v", sugs.Suggestions)
		}
		// Popular queries need the history written (every 50 ms here).
		deadline := time.Now().Add(10 * time.Second)
		for {
			r = s.Call(t, http.MethodGet, "/api/v1/search/suggestions?query="+url.QueryEscape("connection t"), key, nil)
			Expect(t, r, http.StatusOK, "")
			r.Decode(t, &sugs)
			if slices.ContainsFunc(sugs.Suggestions, func(s suggestion) bool { return s.Text == "connection tuning" && s.Type == "popular" }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no popular suggestion from history: %+v", sugs.Suggestions)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("history and trends record searches", func(t *testing.T) {
		var events []struct {
			ID            string   `json:"id"`
			Query         string   `json:"query"`
			SearchMode    string   `json:"searchMode"`
			Databases     []string `json:"databases"`
			ResultCount   int      `json:"resultCount"`
			ExecutionTime int      `json:"executionTime"`
			CreatedAt     string   `json:"createdAt"`
		}
		// The last search (a misspelling) is written within 50 ms.
		deadline := time.Now().Add(10 * time.Second)
		var r *Response
		for {
			r = s.Call(t, http.MethodGet, "/api/v1/search/history?limit=100", key, nil)
			Expect(t, r, http.StatusOK, "")
			r.Decode(t, &events)
			if len(events) > 0 && events[0].Query == "conection" || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(events) < 10 {
			t.Fatalf("%d events recorded", len(events))
		}
		if events[0].Query != "conection" || events[0].CreatedAt == "" {
			t.Errorf("newest event: %+v", events[0])
		}
		for i := 1; i < len(events); i++ {
			a, _ := time.Parse(time.RFC3339Nano, events[i-1].CreatedAt)
			b, _ := time.Parse(time.RFC3339Nano, events[i].CreatedAt)
			if b.After(a) {
				t.Fatalf("history is not newest first: %s after %s", events[i].CreatedAt, events[i-1].CreatedAt)
			}
		}
		r = s.Call(t, http.MethodGet, "/api/v1/search/history?limit=2&offset=1", key, nil)
		Expect(t, r, http.StatusOK, "")
		var page []struct {
			ID string `json:"id"`
		}
		r.Decode(t, &page)
		if len(page) != 2 || page[0].ID != events[1].ID {
			t.Errorf("history page 2: %+v", page)
		}
		var trends []struct {
			Period      string   `json:"period"`
			TopQueries  []string `json:"topQueries"`
			QueryVolume int      `json:"queryVolume"`
		}
		r = s.Call(t, http.MethodGet, "/api/v1/search/trends", key, nil)
		Expect(t, r, http.StatusOK, "")
		r.Decode(t, &trends)
		if len(trends) != 11 || trends[0].Period != time.Now().UTC().Format(time.DateOnly) || trends[0].QueryVolume < 10 || len(trends[0].TopQueries) == 0 {
			t.Errorf("trends: %+v", trends)
		}
	})

	t.Run("a stopped source gives partial results with its status", func(t *testing.T) {
		broken := TenantDatabase(t)
		connBroken := s.AddDatabase(t, u, "broken", broken)
		if d := s.doSearch(t, key, map[string]any{"query": "pooling"}); d.source(connBroken.ID).Status != "ok" {
			t.Fatalf("the third source before it stops: %+v", d.source(connBroken.ID))
		}
		stopTenant(t, broken)
		d := s.doSearch(t, key, map[string]any{"query": "pool"})
		if st := d.source(connBroken.ID); st.Status != "failed" || st.ErrorCode == "" {
			t.Errorf("stopped source: %+v", st)
		}
		if d.source(connDocs.ID).Status != "ok" || d.source(connKB.ID).Status != "ok" || len(d.Results) == 0 {
			t.Errorf("the others: %+v, %d results", d.Sources, len(d.Results))
		}

		// A user whose only source stopped gets 503 naming it.
		lone := s.Register(t)
		_, loneKey := s.CreateKey(t, lone, map[string]any{"name": "lone"})
		solo := TenantDatabase(t)
		s.AddDatabase(t, lone, "solo", solo)
		stopTenant(t, solo)
		r := s.Call(t, http.MethodPost, "/api/v1/search", loneKey, map[string]any{"query": "pooling"})
		Expect(t, r, http.StatusServiceUnavailable, "ALL_SOURCES_FAILED")
		if !strings.Contains(r.Error.Message, "solo") {
			t.Errorf("message does not name the source: %s", r.Error.Message)
		}
	})
}

// stopTenant makes a tenant database unreachable to Altus: its MySQL
// account is dropped and its open sessions killed.
func stopTenant(t *testing.T, tenant Tenant) {
	t.Helper()
	for _, host := range []string{"%", "localhost"} {
		if _, err := tenant.DB.Exec("DROP USER IF EXISTS '" + tenant.User + "'@'" + host + "'"); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := tenant.DB.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?", tenant.User)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		tenant.DB.Exec("KILL CONNECTION " + strconv.FormatInt(id, 10))
	}
}

// With Redis unreachable searches run uncached and succeed.
func TestSearchWithRedisDownRunsUncached(t *testing.T) {
	s := StartSuite(t, map[string]string{"REDIS_PORT": strconv.Itoa(testenv.FreePort(t))})
	docs, _ := searchTenants(t)
	u := s.Register(t)
	_, key := s.CreateKey(t, u, map[string]any{"name": "no redis"})
	s.AddDatabase(t, u, "docs", docs)
	for range 2 {
		start := time.Now()
		d := s.doSearch(t, key, map[string]any{"query": "connection pool"})
		if d.Cached || len(d.Results) == 0 {
			t.Errorf("cached %v, %d results", d.Cached, len(d.Results))
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("search took %s with Redis down", took)
		}
	}
}

func TestEdgeAnswersRepeatedSearchesWhileTheSearchServiceIsDownAndRecordsThemOnceItIsBack(t *testing.T) {
	s := StartSuite(t, map[string]string{"ALTUS_SEARCH_EVENT_FLUSH_INTERVAL": "50ms", "ALTUS_EDGE_REPORT_INTERVAL": "50ms"})
	docs, _ := searchTenants(t)
	u := s.Register(t)
	_, key := s.CreateKey(t, u, map[string]any{"name": "edge"})
	s.AddDatabase(t, u, "docs", docs)
	body := map[string]any{"query": "connection pool", "limit": 3}
	s.doSearch(t, key, body)
	// The edge page is stored in the background: wait for the edge to answer.
	for deadline := time.Now().Add(10 * time.Second); ; {
		before := metricSum(t, s, s.AdminPort("gateway"), "altus4_edge_cache_requests_total{", `result="hit"`)
		s.doSearch(t, key, body)
		if metricSum(t, s, s.AdminPort("gateway"), "altus4_edge_cache_requests_total{", `result="hit"`) > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no repeated search was answered at the edge")
		}
		time.Sleep(50 * time.Millisecond)
	}

	s.StopService("search")
	var whileDown []string
	for range 3 {
		r := s.Call(t, http.MethodPost, "/api/v1/search", key, body)
		Expect(t, r, http.StatusOK, "")
		var d struct {
			searchData
			SearchID string `json:"searchId"`
		}
		r.Decode(t, &d)
		if !d.Cached || len(d.Results) == 0 {
			t.Fatalf("with the search service down: cached %v, %d results", d.Cached, len(d.Results))
		}
		whileDown = append(whileDown, d.SearchID)
	}
	if r := s.Call(t, http.MethodPost, "/api/v1/search", key, map[string]any{"query": "never asked"}); r.Status < 500 {
		t.Errorf("a new search with the search service down answered %d", r.Status)
	}

	_, port, _ := net.SplitHostPort(s.Env["ALTUS_SEARCH_ADDR"])
	s.start("search", map[string]string{"ALTUS_ADMIN_PORT": s.AdminPort("search"), "ALTUS_GRPC_PORT": port})
	deadline := time.Now().Add(20 * time.Second)
	for {
		var events []struct {
			ID string `json:"id"`
		}
		r := s.Call(t, http.MethodGet, "/api/v1/search/history?limit=20", key, nil)
		if r.Status == http.StatusOK {
			r.Decode(t, &events)
			recorded := 0
			for _, e := range events {
				if slices.Contains(whileDown, e.ID) {
					recorded++
				}
			}
			if recorded == len(whileDown) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("searches answered at the edge while the search service was down are not in the history once it is back: %s", r.Raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rankingTenant creates a database whose packages table is searched by two
// FULLTEXT indexes, (name, summary) and (summary, description):
//   - "web server": package 1 says it five times in its name (first by
//     name), package 3 five times in its description (first by
//     description), package 2, task-web-server, says it in its name,
//     summary and description: second by each index;
//   - "library": 180 packages, a third by both indexes (summary), a third
//     by name only, a third by description only.
func rankingTenant(t *testing.T) Tenant {
	t.Helper()
	tenant := TenantDatabase(t)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := tenant.DB.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("DROP TABLE articles")
	exec("DROP TABLE notes")
	exec(`CREATE TABLE packages (
		id INT PRIMARY KEY,
		name VARCHAR(200) NOT NULL,
		summary VARCHAR(255) NOT NULL,
		description TEXT NOT NULL,
		FULLTEXT KEY ft_name_summary (name, summary),
		FULLTEXT KEY ft_summary_description (summary, description)
	) ENGINE=InnoDB`)
	var q strings.Builder
	q.WriteString("INSERT INTO packages (id, name, summary, description) VALUES (?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?)")
	args := []any{
		1, strings.Repeat("web-server-", 5) + "tools", "assorted tools", "assorted tools for files",
		2, "task-web-server", "web server", "installs a web server",
		3, "httpd", "a daemon", strings.Repeat("web server ", 5),
	}
	for i := 10; i < 190; i++ {
		name, summary, desc := fmt.Sprintf("pkg%d", i), fmt.Sprintf("utility number %d", i), fmt.Sprintf("does task %d well", i)
		switch i % 3 {
		case 0:
			summary = fmt.Sprintf("shared library %d", i)
		case 1:
			name = fmt.Sprintf("library-%d", i)
		case 2:
			desc = fmt.Sprintf("a library doing task %d", i)
		}
		q.WriteString(", (?, ?, ?, ?)")
		args = append(args, i, name, summary, desc)
	}
	exec(q.String(), args...)
	return tenant
}

// sqlRanking returns the ids of packages in MariaDB's order for one index.
func sqlRanking(t *testing.T, db *sql.DB, columns, query string) []int64 {
	t.Helper()
	rows, err := db.Query("SELECT id FROM packages WHERE MATCH("+columns+") AGAINST(?) ORDER BY MATCH("+columns+") AGAINST(?) DESC, id", query, query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	return ids
}

// Reciprocal rank fusion over a table searched by two indexes, under a
// rank window of 100: the row both indexes find ranks first, totals are
// the rows matching either index (counted by a scan of the small table,
// or, when scans are off, through the indexes: |A| + |B| - |A ∩ B|),
// pages are disjoint slices of the fused list as deep as the window, and
// no deeper.
func TestFusedRankingOfATableSearchedByTwoIndexes(t *testing.T) {
	tenant := rankingTenant(t)
	for _, tc := range []struct {
		name, scanRows, op string
	}{
		{"counted by a scan", "1000000", "any"},
		{"counted through the indexes", "0", "all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := StartSuite(t, map[string]string{"ALTUS_SEARCH_RANK_WINDOW": "100", "ALTUS_SEARCH_COUNT_SCAN_ROWS": tc.scanRows})
			testFusedRanking(t, s, tenant, tc.op)
		})
	}
}

func testFusedRanking(t *testing.T, s *Suite, tenant Tenant, countOp string) {
	u := s.Register(t)
	_, key := s.CreateKey(t, u, map[string]any{"name": "ranking key", "permissions": []string{"search", "analytics"}})
	conn := s.AddDatabase(t, u, "packages", tenant)
	pkg := func(id int64) string { return conn.ID + ":packages:" + strconv.FormatInt(id, 10) }

	t.Run("the row found by both indexes ranks first", func(t *testing.T) {
		byName := sqlRanking(t, tenant.DB, "name, summary", "web server")
		byDesc := sqlRanking(t, tenant.DB, "summary, description", "web server")
		if len(byName) < 2 || len(byDesc) < 2 || byName[0] != 1 || byName[1] != 2 || byDesc[0] != 3 || byDesc[1] != 2 {
			t.Fatalf("fixture: by name %v, by description %v; want 1 then 2, and 3 then 2", byName, byDesc)
		}
		d := s.doSearch(t, key, map[string]any{"query": "web server", "limit": 3})
		if diff := cmp.Diff([]string{pkg(2), pkg(1), pkg(3)}, d.ids()); diff != "" {
			t.Errorf("order (-want +got):\n%s", diff)
		}
		if len(d.Results) > 0 && (d.Results[0].RelevanceScore != 1 || d.Results[0].Data["name"] != "task-web-server") {
			t.Errorf("first result: %+v", d.Results[0])
		}
	})

	t.Run("totals are the rows matching either index", func(t *testing.T) {
		for _, query := range []string{"library", "web server", "task"} {
			want := count(t, tenant.DB, "SELECT COUNT(*) FROM packages WHERE MATCH(name, summary) AGAINST(?) OR MATCH(summary, description) AGAINST(?)", query, query)
			d := s.doSearch(t, key, map[string]any{"query": query, "limit": 5})
			if d.TotalCount != want || d.TotalEstimated || d.source(conn.ID).RowCount != want {
				t.Errorf("%q: total %d (estimated %v, source %d), want %d", query, d.TotalCount, d.TotalEstimated, d.source(conn.ID).RowCount, want)
			}
		}
		// Each index matches more than the window: the total is counted,
		// not read from the lists.
		if a, b := len(sqlRanking(t, tenant.DB, "name, summary", "library")), len(sqlRanking(t, tenant.DB, "summary, description", "library")); a <= 100 || b <= 100 {
			t.Fatalf("fixture: %d and %d matches of library, want more than the window (100)", a, b)
		}
	})

	t.Run("pages are disjoint slices of the fused list down to the window", func(t *testing.T) {
		top := s.doSearch(t, key, map[string]any{"query": "library", "limit": 100})
		if len(top.Results) != 100 {
			t.Fatalf("%d results in the window", len(top.Results))
		}
		seen := map[string]bool{}
		for page := range 5 {
			d := s.doSearch(t, key, map[string]any{"query": "library", "limit": 20, "offset": page * 20})
			if diff := cmp.Diff(top.ids()[page*20:page*20+20], d.ids()); diff != "" {
				t.Errorf("page %d (-fused list +page):\n%s", page+1, diff)
			}
			for _, r := range d.Results {
				if seen[r.ID] {
					t.Errorf("%s on two pages", r.ID)
				}
				seen[r.ID] = true
				if r.RelevanceScore <= 0 || r.RelevanceScore > 1 || r.Data["summary"] == nil || len(r.MatchedColumns) == 0 {
					t.Errorf("result %s: relevance %v, data %v, matched %v", r.ID, r.RelevanceScore, r.Data, r.MatchedColumns)
				}
			}
		}
		// The fused list is reciprocal rank fusion (k = 60) of MariaDB's
		// own rankings by each index, cut at the window: a row scores the
		// sum of 1/(60 + rank) over the rankings it is in; ties by id.
		score := map[int64]float64{}
		for _, cols := range []string{"name, summary", "summary, description"} {
			for rank, id := range sqlRanking(t, tenant.DB, cols, "library")[:100] {
				score[id] += 1 / float64(60+rank+1)
			}
		}
		var fused []int64
		for id := range score {
			fused = append(fused, id)
		}
		slices.SortFunc(fused, func(a, b int64) int {
			switch {
			case score[a] > score[b] || score[a] == score[b] && a < b:
				return -1
			case a == b:
				return 0
			}
			return 1
		})
		want := make([]string, 100)
		for i, id := range fused[:100] {
			want[i] = pkg(id)
		}
		if diff := cmp.Diff(want, top.ids()); diff != "" {
			t.Errorf("fused list (-RRF of the SQL rankings +altus):\n%s", diff)
		}
		// Every page was read in the ranking's call: dbrouter fused the
		// lists as the search service does.
		pageReads := func(read string) int {
			return metricSum(t, s, s.AdminPort("search"), "altus4_search_page_reads_total{", `read="`+read+`"`)
		}
		if with, after := pageReads("with_ranking"), pageReads("after"); with < 6 || after != 0 {
			t.Errorf("pages read with the ranking %d, after it %d; want every page (6 or more) with it", with, after)
		}
		r := s.Call(t, http.MethodPost, "/api/v1/search", key, map[string]any{"query": "library", "limit": 20, "offset": 81})
		Expect(t, r, http.StatusBadRequest, "VALIDATION_ERROR")
		if !strings.Contains(string(r.Error.Details), "WINDOW_TOO_LARGE") || !strings.Contains(string(r.Error.Details), "100") {
			t.Errorf("details: %s", r.Error.Details)
		}
	})

	t.Run("analyze gives every statement by phase with its arguments", func(t *testing.T) {
		r := s.Call(t, http.MethodPost, "/api/v1/search/analyze", key, map[string]any{"query": "library"})
		Expect(t, r, http.StatusOK, "")
		var a struct {
			Performance struct {
				Sources []struct {
					Statements []struct {
						Phase     int    `json:"phase"`
						Kind      string `json:"kind"`
						Op        string `json:"op"`
						Statement string `json:"statement"`
						Args      []any  `json:"args"`
						Error     string `json:"error"`
					} `json:"statements"`
				} `json:"sources"`
			} `json:"performance"`
		}
		r.Decode(t, &a)
		var got []string
		for _, st := range a.Performance.Sources[0].Statements {
			got = append(got, fmt.Sprintf("%d/%s%s", st.Phase, st.Kind, st.Op))
			if st.Error != "" || len(st.Args) != strings.Count(st.Statement, "?") {
				t.Errorf("%s: %d args for %q (error %q)", st.Kind, len(st.Args), st.Statement, st.Error)
			}
		}
		// A scan counts once the lists are known to be cut; the count
		// through the indexes runs beside the rankings.
		want := []string{"1/search", "1/search", "2/fetch", "2/countany"}
		if countOp == "all" {
			want = []string{"1/search", "1/search", "1/countall", "2/fetch"}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("statements (-want +got):\n%s", diff)
		}
	})
}

// benchPosts fills kb.posts with n rows of text drawn from a vocabulary of
// 5000 words with a Zipf distribution, as natural text is; "word400 word700"
// then matches a few hundred rows.
func benchPosts(b *testing.B, kb Tenant, n int) {
	b.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	zipf := rand.NewZipf(rng, 1.1, 10, 4999)
	text := func(words int) string {
		var sb strings.Builder
		for range words {
			fmt.Fprintf(&sb, "word%d ", zipf.Uint64())
		}
		return sb.String()
	}
	for start := 1; start <= n; start += 500 {
		var q strings.Builder
		q.WriteString("INSERT INTO posts (id, subject, content) VALUES ")
		var args []any
		for i := start; i < start+500 && i <= n; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?)")
			args = append(args, 100000+i, text(8), text(60))
		}
		if _, err := kb.DB.Exec(q.String(), args...); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := kb.DB.Exec("OPTIMIZE TABLE posts"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSearchVersusRawSQL compares, at 1 and 16 concurrent callers, a
// one-index natural-language search through the gateway (uncached: every
// request says Cache-Control: no-cache; cached: one key) with the statement
// dbrouter runs for it, sent straight to MariaDB. Each reports mean, p50
// and p99 latency.
func BenchmarkSearchVersusRawSQL(b *testing.B) {
	s := StartSuite(b, map[string]string{"LOG_LEVEL": "warn", "ALTUS_AUTH_CACHE_TTL": "60s"})
	_, kb := searchTenants(b)
	benchPosts(b, kb, 20000)
	u := s.Register(b)
	_, key := s.CreateKey(b, u, map[string]any{"name": "bench"})
	if _, err := s.DB.Exec("UPDATE api_keys SET rate_limit_tier = 'enterprise'"); err != nil {
		b.Fatal(err)
	}
	conn := s.AddDatabase(b, u, "kb", kb)
	const query = "word400 word700"
	rawSQL := "SELECT `id`, LEFT(`subject`, 8192) AS `subject`, LEFT(`content`, 8192) AS `content`, " +
		"MATCH(`subject`, `content`) AGAINST(? IN NATURAL LANGUAGE MODE) AS `score`, COUNT(*) OVER () AS `total` " +
		"FROM `posts` WHERE MATCH(`subject`, `content`) AGAINST(? IN NATURAL LANGUAGE MODE) ORDER BY `score` DESC, `id` ASC LIMIT ? OFFSET ?"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	var seq atomic.Uint64
	rest := func(cached bool) func() error {
		return func() error {
			body, _ := json.Marshal(map[string]any{"query": query, "databases": []string{conn.ID}, "limit": 20})
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/search", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			if !cached {
				req.Header.Set("Cache-Control", "no-cache")
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%d %s", resp.StatusCode, raw)
			}
			if cached != bytes.Contains(raw, []byte(`"cached":true`)) && seq.Add(1) > 1 {
				return fmt.Errorf("cached = %v: %.200s", !cached, raw)
			}
			return nil
		}
	}
	raw := func() error {
		rows, err := kb.DB.Query(rawSQL, query, query, 20, 0)
		if err != nil {
			return err
		}
		defer rows.Close()
		var id int64
		var subject, content sql.NullString
		var score float64
		var total int
		for rows.Next() {
			if err := rows.Scan(&id, &subject, &content, &score, &total); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	kb.DB.SetMaxOpenConns(32)
	kb.DB.SetMaxIdleConns(32)
	for _, target := range []struct {
		name string
		do   func() error
	}{{"sql", raw}, {"rest-uncached", rest(false)}, {"rest-cached", rest(true)}} {
		for _, c := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/c=%d", target.name, c), func(b *testing.B) {
				if err := target.do(); err != nil { // warm
					b.Fatal(err)
				}
				var mu sync.Mutex
				var lat []time.Duration
				var next atomic.Int64
				b.ResetTimer()
				var wg sync.WaitGroup
				for range c {
					wg.Go(func() {
						var mine []time.Duration
						for next.Add(1) <= int64(b.N) {
							t0 := time.Now()
							if err := target.do(); err != nil {
								b.Error(err)
								return
							}
							mine = append(mine, time.Since(t0))
						}
						mu.Lock()
						lat = append(lat, mine...)
						mu.Unlock()
					})
				}
				wg.Wait()
				b.StopTimer()
				slices.Sort(lat)
				if len(lat) > 0 {
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				}
			})
		}
	}
}

// One search's trace id runs from the client through the gateway to the
// search service, and from there to the cache (versioned lookup and store)
// and to dbrouter (describe and execute).
func TestOneTraceSpansGatewaySearchCacheAndDBRouter(t *testing.T) {
	capture, s := startTracedSuite(t)
	docs, _ := searchTenants(t)
	u := s.Register(t)
	_, key := s.CreateKey(t, u, map[string]any{"name": "traced"})
	s.AddDatabase(t, u, "docs", docs)

	traceID := strings.Repeat("cd", 8) + randomHex(8)
	r := s.Call(t, http.MethodPost, "/api/v1/search", key, map[string]any{"query": "connection pool"},
		"traceparent", "00-"+traceID+"-"+randomHex(8)+"-01")
	Expect(t, r, http.StatusOK, "")

	want := map[string][]string{
		"gateway":  nil,
		"search":   {"altus.search.v1.SearchService/Search"},
		"cache":    {"altus.cache.v1.CacheService/GetVersioned", "altus.cache.v1.CacheService/SetVersioned"},
		"dbrouter": {"altus.dbrouter.v1.DBRouterService/DescribeSources", "altus.dbrouter.v1.DBRouterService/ExecuteSearch"},
	}
	var got map[string][]string
	ok := eventually(t, 15*time.Second, func() bool {
		got = capture.services(traceID)
		for svc, spans := range want {
			if len(got[svc]) == 0 {
				return false
			}
			for _, name := range spans {
				if !slices.Contains(got[svc], name) {
					return false
				}
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("trace %s: spans %v, want at least %v", traceID, got, want)
	}
}

// metricSum adds the values of the metric lines of a process's /metrics
// that start with prefix and contain every one of labels.
func metricSum(t *testing.T, s *Suite, adminPort, prefix string, labels ...string) int {
	t.Helper()
	resp, err := s.HTTP.Get("http://127.0.0.1:" + adminPort + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) || !allIn(line, labels) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		n += int(v)
	}
	return n
}

func allIn(line string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(line, p) {
			return false
		}
	}
	return true
}
