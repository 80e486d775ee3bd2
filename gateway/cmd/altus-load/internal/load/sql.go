package load

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Statement is one SQL statement Altus runs for a query on a source, with
// its placeholder arguments.
type Statement struct {
	// Source is the data source id the statement runs on.
	Source string `json:"source"`
	SQL    string `json:"sql"`
	Args   []any  `json:"args"`
	// Phase orders the statements of a query: those of a phase run
	// together once every statement of the phases before has answered
	// (1: ranking; 2: the page's rows and counts). 0 counts as 1.
	Phase int `json:"phase"`
}

// StatementResolver returns the statements of one query.
type StatementResolver func(ctx context.Context, q Query) ([]Statement, error)

// SQLOptions configure the sql target.
type SQLOptions struct {
	// DSNs are go-sql-driver/mysql DSNs by source id; the "" entry serves
	// any source not named.
	DSNs map[string]string
	// Resolve gives each query's statements (the analyze route, or an
	// override).
	Resolve StatementResolver
	// Prepare reuses one prepared statement per connection and statement
	// text instead of prepare/execute/close on every request.
	Prepare bool
	// Interpolate substitutes the arguments client-side (one round trip,
	// no server-side prepared statement).
	Interpolate bool
	// MaxConns bounds each source's connections.
	MaxConns int
}

// SQL runs, for each query, the same statements Altus would run, straight
// through go-sql-driver/mysql, phase after phase as the search service
// does: the statements of a phase concurrently (across indexes and
// sources), the next phase once the slowest has answered; the request ends
// with the last phase.
type SQL struct {
	opts SQLOptions
	dbs  map[string]*sql.DB
	// plans holds each query's phases, each phase's statements.
	plans [][][]plan
	// run runs one statement (runPlan; tests watch the order).
	run func(context.Context, plan) Outcome
}

type plan struct {
	db   *sql.DB
	stmt *sql.Stmt
	text string
	args []any
}

// NewSQL returns the sql target.
func NewSQL(opts SQLOptions) *SQL {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 64
	}
	return &SQL{opts: opts, dbs: map[string]*sql.DB{}, run: runPlan}
}

// Name implements Target.
func (s *SQL) Name() string { return "sql" }

func (s *SQL) open(source string) (*sql.DB, error) {
	key := source
	dsn, ok := s.opts.DSNs[source]
	if !ok {
		key, dsn = "", s.opts.DSNs[""]
	}
	if db, ok := s.dbs[key]; ok {
		return db, nil
	}
	if dsn == "" {
		return nil, fmt.Errorf("load: no DSN for source %q: give -dsn %s=<dsn>", source, source)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("load: DSN of source %q: %w", source, err)
	}
	// The settings dbrouter uses for a source connection.
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Collation == "" {
		cfg.Collation = "utf8mb4_unicode_ci"
	}
	cfg.InterpolateParams = s.opts.Interpolate
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(s.opts.MaxConns)
	db.SetMaxIdleConns(s.opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.dbs[key] = db
	return db, nil
}

// Prepare implements Target: each query's statements are resolved once.
func (s *SQL) Prepare(ctx context.Context, queries []Query) error {
	if s.opts.Resolve == nil {
		return errors.New("load: the sql target needs statements: the analyze route, or -sql and -args")
	}
	s.plans = make([][][]plan, len(queries))
	for i, q := range queries {
		stmts, err := s.opts.Resolve(ctx, q)
		if err != nil {
			return fmt.Errorf("load: statements of %s query %q: %w", q.Mode, q.Text, err)
		}
		if len(stmts) == 0 {
			return fmt.Errorf("load: no statements for %s query %q", q.Mode, q.Text)
		}
		stmts = slices.Clone(stmts)
		slices.SortStableFunc(stmts, func(a, b Statement) int { return cmp.Compare(max(a.Phase, 1), max(b.Phase, 1)) })
		last := 0
		for _, st := range stmts {
			db, err := s.open(st.Source)
			if err != nil {
				return err
			}
			p := plan{db: db, text: st.SQL, args: st.Args}
			if s.opts.Prepare {
				if p.stmt, err = db.PrepareContext(ctx, st.SQL); err != nil {
					return fmt.Errorf("load: prepare %q: %w", st.SQL, err)
				}
			}
			if phase := max(st.Phase, 1); phase != last || len(s.plans[i]) == 0 {
				s.plans[i] = append(s.plans[i], nil)
				last = phase
			}
			ph := len(s.plans[i]) - 1
			s.plans[i][ph] = append(s.plans[i][ph], p)
		}
	}
	for _, db := range s.dbs {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("load: connect to a source database: %w", err)
		}
	}
	return nil
}

// Do implements Target (noCache does not apply: there is no cache): the
// query's phases in turn, the statements of each concurrently.
func (s *SQL) Do(ctx context.Context, qi int, _ bool) Outcome {
	for _, ps := range s.plans[qi] {
		if o := s.runPhase(ctx, ps); !o.OK() {
			return o
		}
	}
	return Outcome{}
}

// runPhase runs statements concurrently; the first failure is the outcome.
func (s *SQL) runPhase(ctx context.Context, ps []plan) Outcome {
	if len(ps) == 1 {
		return s.run(ctx, ps[0])
	}
	outs := make([]Outcome, len(ps))
	var wg sync.WaitGroup
	for i := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = s.run(ctx, ps[i])
		}()
	}
	wg.Wait()
	for _, o := range outs {
		if !o.OK() {
			return o
		}
	}
	return Outcome{}
}

// runPlan runs one statement and reads every row, as dbrouter does.
func runPlan(ctx context.Context, p plan) Outcome {
	var (
		rows *sql.Rows
		err  error
	)
	if p.stmt != nil {
		rows, err = p.stmt.QueryContext(ctx, p.args...)
	} else {
		rows, err = p.db.QueryContext(ctx, p.text, p.args...)
	}
	if err != nil {
		return sqlOutcome(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return sqlOutcome(err)
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return sqlOutcome(err)
		}
	}
	if err := rows.Err(); err != nil {
		return sqlOutcome(err)
	}
	return Outcome{}
}

func sqlOutcome(err error) Outcome {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return Outcome{Kind: fmt.Sprintf("mysql %d", me.Number), Detail: me.Message}
	}
	return transportOutcome(err)
}

// Close implements Target.
func (s *SQL) Close() error {
	var errs []error
	for _, phases := range s.plans {
		for _, ps := range phases {
			for _, p := range ps {
				if p.stmt != nil {
					errs = append(errs, p.stmt.Close())
				}
			}
		}
	}
	for _, db := range s.dbs {
		errs = append(errs, db.Close())
	}
	return errors.Join(errs...)
}

// OverrideResolver returns the same statement for every query: text with
// args, where "{query}" inside a string argument is replaced by the
// query's text. It stands in for the analyze route.
func OverrideResolver(source, text string, args []any) StatementResolver {
	return func(_ context.Context, q Query) ([]Statement, error) {
		out := make([]any, len(args))
		for i, a := range args {
			if s, ok := a.(string); ok {
				a = strings.ReplaceAll(s, "{query}", q.Text)
			}
			out[i] = a
		}
		return []Statement{{Source: source, SQL: text, Args: out}}, nil
	}
}

// AnalyzeResolver asks the gateway's POST /api/v1/search/analyze for the
// statements Altus would run for each query on databases, with an API key
// holding the analytics permission.
// limit is the page size the searches ask for (for a LIMIT placeholder
// whose value the answer does not give).
func AnalyzeResolver(baseURL, key string, databases []string, limit int) StatementResolver {
	client := &http.Client{Timeout: 30 * time.Second}
	url := strings.TrimRight(baseURL, "/") + "/api/v1/search/analyze"
	defaultSource := ""
	if len(databases) == 1 {
		defaultSource = databases[0]
	}
	once := func(ctx context.Context, q Query) ([]Statement, error) {
		body := map[string]any{"query": q.Text, "searchMode": q.Mode}
		if len(databases) > 0 {
			body["databases"] = databases
		}
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
		var env struct {
			Success bool            `json:"success"`
			Data    json.RawMessage `json:"data"`
			Error   struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(raw, &env); err != nil || resp.StatusCode != http.StatusOK || !env.Success {
			return nil, fmt.Errorf("analyze answered HTTP %d %s %s (give -sql and -args instead)",
				resp.StatusCode, env.Error.Code, env.Error.Message)
		}
		var page struct {
			Performance struct {
				Limit int `json:"limit"`
			} `json:"performance"`
		}
		if json.Unmarshal(env.Data, &page) == nil && page.Performance.Limit > 0 && page.Performance.Limit != limit {
			return nil, fmt.Errorf("the analyze route gives the statements of pages of %d results, and the searches ask for %d: run with -limit %d, or give -sql and -args",
				page.Performance.Limit, limit, page.Performance.Limit)
		}
		stmts, err := ExtractStatements(env.Data, defaultSource, limit)
		if err != nil {
			return nil, err
		}
		if len(stmts) == 0 {
			return nil, errors.New("the analyze answer holds no statements (give -sql and -args instead)")
		}
		for _, st := range stmts {
			if n := len(Placeholders(st.SQL)); n != len(st.Args) {
				return nil, fmt.Errorf("the analyze answer gives %d argument(s) for a statement with %d placeholder(s) "+
					"(it needs \"args\", or the \"against\" text, beside each \"statement\"; give -sql and -args instead): %s",
					len(st.Args), n, st.SQL)
			}
		}
		return stmts, nil
	}
	// One retry: a source that timed out once (a cold buffer pool) usually
	// answers the second time.
	return func(ctx context.Context, q Query) ([]Statement, error) {
		stmts, err := once(ctx, q)
		if err != nil && ctx.Err() == nil {
			stmts, err = once(ctx, q)
		}
		return stmts, err
	}
}

// statementKeys and argsKeys are the field names under which an analyze
// answer may carry a statement and its arguments; sourceKeys name the
// source an object (or its descendants) belongs to.
var (
	statementKeys = []string{"statement", "sql"}
	argsKeys      = []string{"args", "arguments", "params", "parameters"}
	sourceKeys    = []string{"sourceId", "databaseId", "source", "id"}
)

// ExtractStatements finds the statements in the data of an analyze answer:
// every object with a "statement" (or "sql") string that is a SELECT, its
// "args" (or "arguments"/"params"/"parameters") array, its "phase" (1 when
// absent), and the source id of the nearest enclosing object that names
// one ("sourceId", "databaseId", "source" or "id"), defaultSource
// otherwise. The same statement with the same arguments on the same source
// in the same phase is kept once.
//
// An object without an arguments array but with an "against" string (the
// compiled AGAINST text) gets its arguments from the placeholders'
// places: the text for each AGAINST(?, limit after LIMIT, 0 after OFFSET.
func ExtractStatements(data []byte, defaultSource string, limit int) ([]Statement, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("load: analyze answer: %w", err)
	}
	var out []Statement
	seen := map[string]bool{}
	var walk func(v any, source string)
	walk = func(v any, source string) {
		switch t := v.(type) {
		case []any:
			for _, e := range t {
				walk(e, source)
			}
		case map[string]any:
			for _, k := range sourceKeys {
				if s, ok := t[k].(string); ok && s != "" {
					source = s
					break
				}
			}
			for _, k := range statementKeys {
				text, ok := t[k].(string)
				if !ok || !isSelect(text) {
					continue
				}
				var args []any
				for _, ak := range argsKeys {
					if a, ok := t[ak].([]any); ok {
						args = convertArgs(a)
						break
					}
				}
				if against, ok := t["against"].(string); ok && args == nil {
					args = inferArgs(text, against, limit)
				}
				phase := 1
				if n, ok := t["phase"].(json.Number); ok {
					if p, err := n.Int64(); err == nil && p > 0 {
						phase = int(p)
					} else if f, err := n.Float64(); err == nil && f >= 1 {
						phase = int(f)
					}
				}
				key := fmt.Sprintf("%d\x00%s\x00%s\x00%v", phase, source, text, args)
				if !seen[key] {
					seen[key] = true
					out = append(out, Statement{Source: source, SQL: text, Args: args, Phase: phase})
				}
				break
			}
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(t[k], source)
			}
		}
	}
	walk(v, defaultSource)
	return out, nil
}

// isSelect reports whether text is a SELECT (after leading comments), the
// only kind of statement the sql target runs.
func isSelect(text string) bool {
	s := strings.TrimSpace(text)
	for strings.HasPrefix(s, "/*") {
		end := strings.Index(s, "*/")
		if end < 0 {
			return false
		}
		s = strings.TrimSpace(s[end+2:])
	}
	return len(s) >= 6 && strings.EqualFold(s[:6], "select")
}

// convertArgs turns JSON values into driver arguments: integral numbers as
// int64, other numbers as float64.
func convertArgs(a []any) []any {
	out := make([]any, len(a))
	for i, v := range a {
		if n, ok := v.(json.Number); ok {
			if iv, err := n.Int64(); err == nil {
				v = iv
			} else if f, err := n.Float64(); err == nil && !math.IsInf(f, 0) {
				v = f
			} else {
				v = n.String()
			}
		}
		out[i] = v
	}
	return out
}

// Placeholders returns the keyword before each "?" placeholder of a
// statement ("AGAINST(", "LIMIT", "OFFSET", or the previous word),
// skipping quoted strings, identifiers and comments.
func Placeholders(text string) []string {
	var out []string
	var prev strings.Builder // the text since the last placeholder, for its context
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			end := i + 1
			for end < len(text) && text[end] != c {
				if text[end] == '\\' && c != '`' {
					end++
				}
				end++
			}
			prev.WriteString(" x ")
			i = end
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 3
		case c == '?':
			out = append(out, placeholderContext(prev.String()))
			prev.Reset()
		default:
			prev.WriteByte(c)
		}
	}
	return out
}

// placeholderContext names what a placeholder preceded by before stands for.
func placeholderContext(before string) string {
	b := strings.ToUpper(strings.TrimSpace(before))
	switch {
	case strings.HasSuffix(b, "AGAINST("):
		return "AGAINST("
	case strings.HasSuffix(b, "LIMIT"):
		return "LIMIT"
	case strings.HasSuffix(b, "OFFSET"):
		return "OFFSET"
	}
	fields := strings.Fields(b)
	if len(fields) == 0 {
		return ""
	}
	return fields[len(fields)-1]
}

// inferArgs gives a statement's arguments from its placeholders' places.
func inferArgs(text, against string, limit int) []any {
	ps := Placeholders(text)
	args := make([]any, 0, len(ps))
	for _, p := range ps {
		switch p {
		case "AGAINST(":
			args = append(args, against)
		case "LIMIT":
			args = append(args, int64(limit))
		case "OFFSET":
			args = append(args, int64(0))
		default:
			return nil // unknown: let the count check report it
		}
	}
	return args
}
