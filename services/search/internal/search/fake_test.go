package search

import (
	"bytes"
	"cmp"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/altus4/altus/services/search/internal/events"
)

// fakeRow is a row of a fake table.
type fakeRow struct {
	pk     []string
	values map[string]string
}

// fakeSource is a source whose indexes return fixed rankings, whatever the
// query (the compiler is tested on its own; here the plumbing is).
type fakeSource struct {
	desc Source
	rows map[string][]fakeRow // "table" -> rows
	// ranking maps "table/index" to row positions in rows[table], best
	// first; scores fall by 1 from 100 along the ranking.
	ranking map[string][]int
	err     error // every Execute fails with it
	block   bool  // Execute waits for its context to end
	// blockExpansion makes a call holding a query-expansion plan wait for
	// its context to end.
	blockExpansion bool
	// failFetch fails every fetch plan; failCounts every count.
	failFetch, failCounts bool
	// noMatches makes every search but prefix searches ("+word*") find
	// nothing; prefix searches return the rows having a word with the prefix.
	noMatches bool
	// countsWait, when set, holds every call with counts until it is
	// closed (or the call's context ends).
	countsWait chan struct{}
	// gate, when set, holds every call until it is closed (or the call's
	// context ends).
	gate chan struct{}
	// noPage ignores ExecRequest.Page (as a dbrouter that predates it);
	// pageMiss reads every row of the page but its last.
	noPage, pageMiss bool
	// plansWait, when set, holds every call with plans until it is closed
	// (or the call's context ends); onCounts is called as a call with
	// counts starts.
	plansWait chan struct{}
	onCounts  func()
}

type fakeSources struct {
	mu          sync.Mutex
	sources     []*fakeSource
	describeErr error
	describes   int
	execs       []ExecRequest
}

func (f *fakeSources) Describe(ctx context.Context, ids []string) ([]Source, error) {
	f.mu.Lock()
	f.describes++
	f.mu.Unlock()
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	var out []Source
	if len(ids) == 0 {
		for _, s := range f.sources {
			out = append(out, s.desc)
		}
		return out, nil
	}
	for _, id := range ids {
		i := slices.IndexFunc(f.sources, func(s *fakeSource) bool { return s.desc.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("fake: %w", ErrSourceNotFound)
		}
		out = append(out, f.sources[i].desc)
	}
	return out, nil
}

func (f *fakeSources) source(id string) *fakeSource {
	for _, s := range f.sources {
		if s.desc.ID == id {
			return s
		}
	}
	return nil
}

func (f *fakeSources) Execute(ctx context.Context, req ExecRequest) (ExecResponse, error) {
	f.mu.Lock()
	f.execs = append(f.execs, req)
	f.mu.Unlock()
	s := f.source(req.SourceID)
	if s == nil {
		return ExecResponse{}, &SourceError{Code: "CONNECTION_NOT_FOUND", Message: "no such source"}
	}
	expansion := slices.ContainsFunc(req.Plans, func(p Plan) bool { return p.Mode == "expansion" })
	if s.block || (s.blockExpansion && expansion) {
		<-ctx.Done()
		return ExecResponse{}, ctx.Err()
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ExecResponse{}, ctx.Err()
		}
	}
	if s.err != nil {
		return ExecResponse{}, s.err
	}
	if s.onCounts != nil && len(req.Counts) > 0 {
		s.onCounts()
	}
	if s.plansWait != nil && len(req.Plans) > 0 {
		select {
		case <-s.plansWait:
		case <-ctx.Done():
			return ExecResponse{}, ctx.Err()
		}
	}
	if s.countsWait != nil && len(req.Counts) > 0 {
		select {
		case <-s.countsWait:
		case <-ctx.Done():
			return ExecResponse{}, ctx.Err()
		}
	}
	var resp ExecResponse
	for _, p := range req.Plans {
		resp.Plans = append(resp.Plans, s.run(p))
	}
	for _, c := range req.Counts {
		if s.noMatches {
			resp.Counts = append(resp.Counts, PlanResult{Total: 0})
			continue
		}
		if s.failCounts {
			resp.Counts = append(resp.Counts, PlanResult{Total: -1, ErrorCode: CodeTimeout, ErrorMessage: "slow"})
			continue
		}
		hits := map[int]int{}
		for _, m := range c.Matches {
			for _, pos := range s.ranking[m.Table+"/"+m.Index] {
				hits[pos]++
			}
		}
		n := 0
		for _, h := range hits {
			if c.Op != CountAll || h == len(c.Matches) {
				n++
			}
		}
		conds := strings.Repeat("MATCH(…) AGAINST(?) "+map[string]string{CountAll: "AND "}[c.Op], len(c.Matches))
		resp.Counts = append(resp.Counts, PlanResult{Total: n, Statement: "SELECT COUNT(*) FROM `" + c.Table + "` WHERE " + conds})
	}
	if req.Page != nil && !s.noPage {
		resp.Page = s.page(req, resp.Plans)
	}
	for _, f := range req.Fetches {
		if s.failFetch {
			resp.Fetches = append(resp.Fetches, PlanResult{Total: -1, ErrorCode: "QUERY_FAILED", ErrorMessage: "refused"})
			continue
		}
		resp.Fetches = append(resp.Fetches, s.fetch(f))
	}
	return resp, nil
}

// columnsOf returns the primary key and searchable columns of t.
func columnsOf(t *Table) []string {
	cols := slices.Clone(t.PrimaryKey)
	for _, c := range t.Columns {
		if c.IsSearchable && !c.IsPrimaryKey {
			cols = append(cols, c.Name)
		}
	}
	return cols
}

// rowOf returns row r of t with the columns cols.
func rowOf(t *Table, r fakeRow, cols []string, score float64) Row {
	row := Row{Score: score}
	for _, c := range cols {
		if k := slices.Index(t.PrimaryKey, c); k >= 0 {
			row.Values = append(row.Values, r.pk[k])
			row.Nulls = append(row.Nulls, false)
			continue
		}
		v, ok := r.values[c]
		row.Values = append(row.Values, v)
		row.Nulls = append(row.Nulls, !ok)
	}
	return row
}

// fetch reads rows by key (keys with no row are left out).
func (s *fakeSource) fetch(f FetchPlan) PlanResult {
	t := s.table(f.Table)
	if t == nil {
		return PlanResult{ErrorCode: "QUERY_FAILED", ErrorMessage: "no such table", Total: -1}
	}
	res := PlanResult{Columns: columnsOf(t), Total: -1, Statement: "SELECT … FROM `" + f.Table + "` WHERE (…) IN (" + strings.Repeat("?,", len(f.Keys))[:max(0, 2*len(f.Keys)-1)] + ")"}
	for _, k := range f.Keys {
		for _, r := range s.rows[f.Table] {
			if slices.Equal(r.pk, k) {
				res.Rows = append(res.Rows, rowOf(t, r, res.Columns, 0))
			}
		}
	}
	return res
}

// page reads the rows of the page of the plans' fused ranking as dbrouter
// does (ExecRequest.Page), by fetches. With pageMiss set, it leaves out the
// page's last row, as a dbrouter fusing otherwise would.
func (s *fakeSource) page(req ExecRequest, plans []PlanResult) []PlanResult {
	var lists []RankedList
	for i, pr := range plans {
		if pr.ErrorCode != "" {
			continue
		}
		t := s.table(req.Plans[i].Table)
		l := RankedList{SourceID: s.desc.ID, Table: t.Name}
		for _, row := range pr.Rows {
			l.Rows = append(l.Rows, rowKey(s.desc.ID, t, row))
		}
		lists = append(lists, l)
	}
	page := Page(Fuse(lists), req.Page.Offset, req.Page.Limit)
	if s.pageMiss && len(page) > 0 {
		page = page[:len(page)-1]
	}
	var out []PlanResult
	byTable := map[string]*FetchPlan{}
	var order []string
	for _, f := range page {
		fp, ok := byTable[f.Table]
		if !ok {
			fp = &FetchPlan{Table: f.Table}
			byTable[f.Table] = fp
			order = append(order, f.Table)
		}
		key := make([]string, len(f.PK))
		for i, v := range f.PK {
			key[i] = v.Text()
		}
		fp.Keys = append(fp.Keys, key)
	}
	for _, name := range order {
		if s.failFetch {
			out = append(out, PlanResult{Table: name, Total: -1, ErrorCode: "QUERY_FAILED", ErrorMessage: "refused"})
			continue
		}
		res := s.fetch(*byTable[name])
		res.Table = name
		out = append(out, res)
	}
	return out
}

func (s *fakeSource) table(name string) *Table {
	for i := range s.desc.Tables {
		if s.desc.Tables[i].Name == name {
			return &s.desc.Tables[i]
		}
	}
	return nil
}

func (s *fakeSource) run(p Plan) PlanResult {
	t := s.table(p.Table)
	ranking, ok := s.ranking[p.Table+"/"+p.Index]
	if t == nil || !ok {
		return PlanResult{ErrorCode: "QUERY_FAILED", ErrorMessage: "no such index", Total: -1}
	}
	cols := columnsOf(t)
	if p.KeysOnly {
		cols = slices.Clone(t.PrimaryKey)
	}
	res := PlanResult{Columns: cols, Total: -1, Statement: "SELECT …, MATCH(…) AGAINST(?) AS `score` FROM `" + p.Table + "` WHERE MATCH(…) AGAINST(?) ORDER BY `score` DESC LIMIT ? OFFSET ?", Elapsed: time.Millisecond}
	if p.Explain {
		res.Explain = []map[string]string{{"type": "fulltext", "key": p.Index}}
		return res
	}
	if prefix, ok := strings.CutSuffix(strings.TrimPrefix(p.Against, "+"), "*"); ok {
		var kept []int
		for _, pos := range ranking {
			for _, v := range s.rows[p.Table][pos].values {
				if slices.ContainsFunc(wordSpans(v), func(sp span) bool { return strings.HasPrefix(sp.word, strings.ToLower(prefix)) }) {
					kept = append(kept, pos)
					break
				}
			}
		}
		ranking = kept
	} else if s.noMatches {
		ranking = nil
	}
	if p.Count {
		res.Total = len(ranking)
	}
	for i, pos := range ranking {
		if i < p.Offset || i >= p.Offset+p.Limit {
			continue
		}
		row := rowOf(t, s.rows[p.Table][pos], cols, float64(100-i))
		res.Rows = append(res.Rows, row)
	}
	return res
}

// server is an InnoDB server with a few stopwords.
var server = ServerInfo{Version: "10.11.0-MariaDB", Flavor: "mariadb", InnoDBMinTokenSize: 3, InnoDBMaxTokenSize: 84,
	MyISAMMinWordLen: 4, MyISAMMaxWordLen: 84, InnoDBStopwords: []string{"the", "a", "an", "and", "of"}, InnoDBStopwordsEnabled: true}

// articlesTable has two FULLTEXT indexes and an integer primary key.
func articlesTable() Table {
	return Table{Name: "articles", Engine: "InnoDB", PrimaryKey: []string{"id"},
		Columns: []Column{
			{Name: "id", Type: "int", IsPrimaryKey: true},
			{Name: "title", Type: "varchar", IsSearchable: true, IsFullText: true},
			{Name: "body", Type: "text", IsSearchable: true, IsFullText: true},
			{Name: "views", Type: "int"},
		},
		Indexes: []Index{{Name: "ft_title", Columns: []string{"title"}}, {Name: "ft_title_body", Columns: []string{"title", "body"}}},
	}
}

// notesTable has no FULLTEXT index.
func notesTable() Table {
	return Table{Name: "notes", Engine: "InnoDB", PrimaryKey: []string{"owner", "seq"},
		Columns: []Column{
			{Name: "owner", Type: "varchar", IsPrimaryKey: true, IsSearchable: true},
			{Name: "seq", Type: "int", IsPrimaryKey: true},
			{Name: "content", Type: "mediumtext", IsSearchable: true},
		},
	}
}

// newFakeSource returns a source with n articles whose two indexes rank
// them by the given permutations (nil: identity).
func newFakeSource(id string, n int, title, body []int) *fakeSource {
	s := &fakeSource{
		desc:    Source{ID: id, Name: "db " + id, Database: "db_" + id, Version: 1, Fingerprint: "fp", Server: server, Tables: []Table{articlesTable(), notesTable()}},
		rows:    map[string][]fakeRow{},
		ranking: map[string][]int{},
	}
	for i := range n {
		s.rows["articles"] = append(s.rows["articles"], fakeRow{pk: []string{strconv.Itoa(i + 1)}, values: map[string]string{
			"title": fmt.Sprintf("Connection pools, part %d", i+1),
			"body":  fmt.Sprintf("Pools keep connections warm (%s, row %d).", id, i+1),
		}})
	}
	if title == nil {
		title = seqPerm(n)
	}
	if body == nil {
		body = seqPerm(n)
	}
	s.ranking["articles/ft_title"] = title
	s.ranking["articles/ft_title_body"] = body
	return s
}

func seqPerm(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func reversed(n int) []int {
	out := seqPerm(n)
	slices.Reverse(out)
	return out
}

// onlyIndex keeps a single FULLTEXT index (the single-index path).
func (s *fakeSource) onlyIndex(name string) *fakeSource {
	for i := range s.desc.Tables {
		t := &s.desc.Tables[i]
		t.Indexes = slices.DeleteFunc(t.Indexes, func(ix Index) bool { return ix.Name != name })
	}
	return s
}

// fakeCache is an in-memory versioned cache.
type fakeCache struct {
	mu       sync.Mutex
	versions map[string]int64
	values   map[string][]byte
	err      error
	gets     int
	// sets counts the values stored; calls, the Set calls.
	sets  int
	calls int
	// ttls are the TTLs of every Set, in order.
	ttls []time.Duration
	// gate, when set, holds every Set until it is closed.
	gate chan struct{}
}

func newFakeCache() *fakeCache {
	return &fakeCache{versions: map[string]int64{}, values: map[string][]byte{}}
}

// getCount is how many lookups were made.
func (c *fakeCache) getCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets
}

func (c *fakeCache) Get(ctx context.Context, versionKeys []string, key string) ([]byte, []int64, bool, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	if c.err != nil {
		return nil, nil, false, 0, c.err
	}
	vs := make([]int64, len(versionKeys))
	full := key
	for i, k := range versionKeys {
		vs[i] = c.versions[k]
		full += fmt.Sprintf("|%d", vs[i])
	}
	v, ok := c.values[full]
	var ttl time.Duration
	if ok {
		ttl = 30 * time.Second
	}
	return v, vs, ok, ttl, nil
}

func (c *fakeCache) Versions(ctx context.Context, versionKeys []string) ([]int64, error) {
	_, vs, _, _, err := c.Get(ctx, versionKeys, "")
	return vs, err
}

func (c *fakeCache) Set(ctx context.Context, versions []int64, ttl time.Duration, entries ...CacheEntry) error {
	if c.gate != nil {
		<-c.gate
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.sets += len(entries)
	c.ttls = append(c.ttls, ttl)
	if c.err != nil {
		return c.err
	}
	for _, e := range entries {
		key := e.Key
		for _, v := range versions {
			key += fmt.Sprintf("|%d", v)
		}
		c.values[key] = e.Value
	}
	return nil
}

func (c *fakeCache) bump(k string) {
	c.mu.Lock()
	c.versions[k]++
	c.mu.Unlock()
}

// gobCodec is a test codec (the production one, in package wire, stores
// SearchResponse messages).
type gobCodec struct{}

func (gobCodec) Encode(r *Response) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(r)
	return b.Bytes(), err
}

// Message: the test codec has no shared encoding.
func (gobCodec) Message(*Response) (any, error) { return nil, nil }

// Render stands for the edge's rendering: the page's ids.
func (gobCodec) Render(r *Response) ([]byte, error) {
	return []byte(`{"ids":"` + strings.Join(resultIDs(r.Results), ",") + `"}`), nil
}

// EncodeEdge stands for the edge page: the rendering and the summary, gob-encoded.
func (gobCodec) EncodeEdge(rendered []byte, sum EventSummary) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(struct {
		Rendered []byte
		Summary  EventSummary
	}{rendered, sum})
	return b.Bytes(), err
}

func (gobCodec) Decode(b []byte) (*Response, error) {
	var r Response
	err := gob.NewDecoder(bytes.NewReader(b)).Decode(&r)
	return &r, err
}

// fakeRecorder keeps recorded events.
type fakeRecorder struct {
	mu  sync.Mutex
	evs []events.Event
}

func (r *fakeRecorder) Record(e events.Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
	return true
}

func (r *fakeRecorder) events() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

// sortedIDs is for comparing sets of ids.
func sortedIDs(rs []Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	slices.SortFunc(out, cmp.Compare)
	return out
}

// fakeStore serves fixed popular queries; history and trends are tested
// against MariaDB in package events.
type fakeStore struct {
	popular []events.QueryCount
}

func (f *fakeStore) History(context.Context, string, int, int) ([]events.Event, error) {
	return nil, nil
}

func (f *fakeStore) Trends(context.Context, string, time.Time) ([]events.Trend, error) {
	return nil, nil
}

func (f *fakeStore) Popular(_ context.Context, _ string, prefix string, _ time.Time, limit int) ([]events.QueryCount, error) {
	var out []events.QueryCount
	for _, q := range f.popular {
		if strings.HasPrefix(strings.ToLower(q.Query), strings.ToLower(prefix)) && len(out) < limit {
			out = append(out, q)
		}
	}
	return out, nil
}

var errTest = errors.New("test: cache down")
