// Package fulltext runs full-text search plans on a user's source: it checks
// that the caller owns the source, validates every plan against the
// discovered schema, builds each statement itself (internal/sqlbuild: no
// SQL is ever accepted from the caller), and runs the statements in
// parallel through the source's read-only pool, under a per-source
// concurrency cap and a server-side time limit, each as a client span whose
// W3C trace context travels in a SQL comment.
//
// It holds no gRPC or generated types; internal/grpcapi adapts it.
package fulltext

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/semaphore"

	"github.com/altus4/altus/services/dbrouter/internal/datasource"
	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/sqlbuild"
)

// Defaults of Options.
const (
	DefaultMaxValueChars    = 8192
	DefaultStatementTimeout = 5 * time.Second
	DefaultCountBudget      = 300 * time.Millisecond
	DefaultMaxConcurrency   = pool.DefaultMaxSize
)

// Count strategies: how a plan's total is counted. On every Debian package
// (63,666 rows, pages of 20 of thousands of matches) the window costs about
// 7 ms over the search alone and the separate count about 25 ms.
const (
	// CountWindow counts in the search statement itself (COUNT(*) OVER ()),
	// limited to the count budget; when the budget is hit the plain
	// statement is run and the total is a lower bound.
	CountWindow = "window"
	// CountSeparate runs SELECT COUNT(*) ... WHERE MATCH after the search
	// statement, limited to the count budget.
	CountSeparate = "separate"
)

// Limits of a request.
const (
	MaxLimit        = 1000
	MaxOffset       = 100000
	MaxAgainstBytes = 2000
	// MaxPlans bounds the plans, the counts and the fetches of a call (each).
	MaxPlans = 200
	// MaxKeys bounds the keys of one fetch.
	MaxKeys = 1000
	// MaxKeyValueBytes bounds one value of a key: InnoDB keys hold at most
	// 3072 bytes, which is 6144 in hex.
	MaxKeyValueBytes = 8192
)

// Error is a domain error: Error() names it for logs and errors.Is, and
// PublicMessage() tells the caller what is wrong and what to do.
type Error struct {
	name   string
	public string
}

// Error names the error for logs.
func (e *Error) Error() string { return "fulltext: " + e.name }

// PublicMessage is the message for people.
func (e *Error) PublicMessage() string { return e.public }

// Domain errors. The adapter maps each to a gRPC code and a reason.
var (
	// ErrSourceChanged: the request expected another version of the source.
	ErrSourceChanged = &Error{"source changed",
		"The database connection changed since its description was read; describe it again and retry."}
	// ErrSourceUnavailable: the source could not be reached (it wraps
	// datasource.ErrConnectionFailed, whose message names the source).
	ErrSourceUnavailable = &Error{"source unavailable", "Could not connect to the database."}
	// ErrTimeout is a plan's error when its statement ran out of time.
	ErrTimeout = &Error{"timeout",
		"The search statement did not finish within its time limit; narrow the query or retry."}
	// ErrQueryFailed is a plan's error when the server refused its statement.
	ErrQueryFailed = &Error{"query failed", "The database could not run the search statement."}
)

// unavailable is ErrSourceUnavailable around the reason the source could
// not be reached, keeping that reason's public message.
type unavailable struct{ err error }

func (e *unavailable) Error() string { return "fulltext: source unavailable: " + e.err.Error() }
func (e *unavailable) Unwrap() error { return e.err }
func (e *unavailable) Is(target error) bool {
	return target == ErrSourceUnavailable
}

// PublicMessage is the wrapped failure's message for people.
func (e *unavailable) PublicMessage() string {
	var pub interface{ PublicMessage() string }
	if errors.As(e.err, &pub) {
		return pub.PublicMessage()
	}
	return ErrSourceUnavailable.public
}

// planError is a per-plan error (ErrTimeout or ErrQueryFailed) with its
// own public message.
type planError struct {
	kind   *Error
	public string
	err    error
}

func (e *planError) Error() string {
	if e.err == nil {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.err.Error()
}
func (e *planError) Unwrap() error        { return e.err }
func (e *planError) Is(target error) bool { return target == e.kind }

// PublicMessage is the message for people.
func (e *planError) PublicMessage() string { return e.public }

// Plan is one full-text search of one FULLTEXT index.
type Plan struct {
	// Table and Index name a discovered table and one of its FULLTEXT indexes.
	Table, Index string
	Mode         sqlbuild.Mode
	// Against is the AGAINST text, sent as a parameter.
	Against string
	// Limit and Offset page the rows ordered by score desc, primary key asc.
	Limit, Offset int
	// Count asks for the number of matching rows.
	Count bool
	// Columns to return besides the primary key; empty: every searchable column.
	Columns []string
	// Explain runs EXPLAIN of the statement instead of the statement.
	Explain bool
	// KeysOnly returns the primary key and the score of each row only
	// (Columns is ignored): the statement selects and sorts no text, so a
	// ranking of hundreds of rows stays cheap; a Fetch reads the rows
	// kept. The table must have a primary key.
	KeysOnly bool
	// Unordered returns the first Limit rows the index finds, not sorted
	// by score (no Offset, Count or KeysOnly).
	Unordered bool
}

// CountPlan counts the distinct rows of one table matching any or all of
// several indexes (Table, Index, Mode and Against of each match are used).
type CountPlan struct {
	Table   string
	Matches []Plan
	// Op is sqlbuild.CountAny (the union; the default when empty) or
	// sqlbuild.CountAll (the intersection, answered through the indexes).
	Op sqlbuild.CountOp
}

// Fetch reads given rows of one table by primary key: the second phase of
// a search that ranked keys only.
type Fetch struct {
	Table string
	// Keys are the rows to read: each the primary key values in primary
	// key column order, as plans return them (see keyKind for each type).
	// 1..MaxKeys of them; a key asked twice is answered once.
	Keys [][]string
	// Columns to return besides the primary key; empty: every searchable
	// column.
	Columns []string
}

// PagePlan asks for the rows of one page of the plans' fused ranking, read
// once the plans have answered, in the same call (see page.go).
type PagePlan struct {
	// Offset and Limit are the page's bounds in the fused ranking.
	Offset, Limit int
	// K is the k of reciprocal rank fusion.
	K int
}

// Request is what ExecuteSearch asks of one source.
type Request struct {
	SourceID string
	Plans    []Plan
	Counts   []CountPlan
	Fetches  []Fetch
	// Page, when set, asks for the rows of a page of the plans' fused
	// ranking (every plan KeysOnly).
	Page *PagePlan
	// StatementTimeout limits each statement on the server (0: the default).
	StatementTimeout time.Duration
	// ExpectVersion, when not 0, must be the source's version.
	ExpectVersion int
}

// Row is one result row.
type Row struct {
	// Values are in the order of Result.Columns; Nulls[i] is true for SQL NULL.
	Values []string
	Nulls  []bool
	Score  float64
}

// Result is the outcome of one plan, count or fetch.
type Result struct {
	Columns []string
	Rows    []Row
	// Total is the number of matching rows, -1 when not counted.
	Total int
	// TotalEstimated: the count hit its budget and Total is a lower bound.
	TotalEstimated bool
	// Err is nil, or an error matching ErrTimeout or ErrQueryFailed.
	Err error
	// Elapsed is the time spent on the statement(s).
	Elapsed time.Duration
	// Statement is the SELECT with placeholders (no literal values): the
	// one that answered (a counted plan's carries COUNT(*) OVER () when
	// the count ran in it).
	Statement string
	// Explain holds the EXPLAIN rows, column to value (NULLs left out).
	Explain []map[string]string
	// Table is the table of the rows, on Response.Page results.
	Table string
}

// Response is the outcome of a request.
type Response struct {
	Plans  []Result
	Counts []Result
	// Fetches hold the rows found of each fetch, in no particular order
	// (a key not found has no row), with score 0 and Total -1.
	Fetches []Result
	// Page holds the rows of the page asked (Request.Page), one Result per
	// table with rows on it, as Fetches hold them.
	Page []Result
	// Version and Fingerprint are those of the source and schema the
	// statements were built from.
	Version     int
	Fingerprint string
	// Queued is the longest time any plan, count or fetch waited for the
	// concurrency cap and a connection.
	Queued time.Duration
}

// Sources is what the executor needs of the data source domain.
type Sources interface {
	// OpenSearch returns the user's source, its pool and its schema
	// (datasource.ErrNotFound for another user's source).
	OpenSearch(ctx context.Context, userID, id string) (datasource.Source, schema.Schema, error)
	// PoolError turns a pool acquire failure into a domain error.
	PoolError(err error) error
}

// Options configure New.
type Options struct {
	Sources Sources
	// MaxValueChars bounds each text value returned (DefaultMaxValueChars).
	MaxValueChars int
	// StatementTimeout is the default server-side limit of one statement.
	StatementTimeout time.Duration
	// CountBudget bounds a count (DefaultCountBudget).
	CountBudget time.Duration
	// CountStrategy is CountWindow or CountSeparate (CountWindow when
	// empty: measured faster, see the README). Servers without window
	// functions always count separately.
	CountStrategy string
	// MaxConcurrency caps the statements running at once on one source,
	// across calls (DefaultMaxConcurrency).
	MaxConcurrency int
	// Tracer starts the statement spans; nil uses the global provider.
	Tracer trace.Tracer
	// Log receives statement failures.
	Log *slog.Logger
}

// Executor runs search plans. It is safe for concurrent use.
type Executor struct {
	sources       Sources
	maxValueChars int
	stmtTimeout   time.Duration
	countBudget   time.Duration
	countStrategy string
	maxConc       int
	tracer        trace.Tracer
	log           *slog.Logger
	metrics       *metrics

	mu   sync.Mutex
	sems map[string]*semaphore.Weighted

	// rewrite, when set (tests only), changes each statement just before
	// it runs.
	rewrite func(stmt string) string
}

// TracerName names the tracer of the statement spans.
const TracerName = "github.com/altus4/altus/services/dbrouter/internal/fulltext"

// New returns an Executor.
func New(o Options) (*Executor, error) {
	if o.Sources == nil {
		return nil, errors.New("fulltext: sources are required")
	}
	e := &Executor{
		sources: o.Sources, maxValueChars: o.MaxValueChars, stmtTimeout: o.StatementTimeout,
		countBudget: o.CountBudget, countStrategy: o.CountStrategy, maxConc: o.MaxConcurrency,
		tracer: o.Tracer, log: o.Log, metrics: newMetrics(), sems: map[string]*semaphore.Weighted{},
	}
	if e.maxValueChars <= 0 {
		e.maxValueChars = DefaultMaxValueChars
	}
	if e.stmtTimeout <= 0 {
		e.stmtTimeout = DefaultStatementTimeout
	}
	if e.countBudget <= 0 {
		e.countBudget = DefaultCountBudget
	}
	switch e.countStrategy {
	case "":
		e.countStrategy = CountWindow
	case CountWindow, CountSeparate:
	default:
		return nil, fmt.Errorf("fulltext: unknown count strategy %q", e.countStrategy)
	}
	if e.maxConc <= 0 {
		e.maxConc = DefaultMaxConcurrency
	}
	if e.tracer == nil {
		e.tracer = otel.Tracer(TracerName)
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// semaphore returns the concurrency cap of a source.
func (e *Executor) semaphore(id string) *semaphore.Weighted {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sems[id]
	if !ok {
		s = semaphore.NewWeighted(int64(e.maxConc))
		e.sems[id] = s
	}
	return s
}

// Execute runs req's plans, counts and fetches on the user's source. Errors:
// datasource.ErrNotFound (not the user's source), ErrSourceChanged,
// *validate.Error (a plan does not fit the schema; nothing ran),
// ErrSourceUnavailable or datasource.ErrBusy (the source could not be
// reached). A plan that times out or fails on the server is reported in
// its Result; the others still answer.
func (e *Executor) Execute(ctx context.Context, userID string, req Request) (Response, error) {
	src, sc, err := e.sources.OpenSearch(ctx, userID, req.SourceID)
	if err != nil {
		return Response{}, sourceError(err)
	}
	if req.ExpectVersion != 0 && req.ExpectVersion != src.Version {
		return Response{}, ErrSourceChanged
	}
	jobs, err := e.prepare(sc, req)
	if err != nil {
		return Response{}, err
	}
	timeout := e.stmtTimeout
	if req.StatementTimeout > 0 {
		timeout = req.StatementTimeout
	}
	run := runner{e: e, src: src, server: sc.Server, timeout: timeout}
	resp, err := run.all(ctx, jobs, len(req.Plans), len(req.Counts), sc.Fingerprint)
	if err != nil || req.Page == nil {
		return resp, err
	}
	return e.readPage(ctx, run, sc, req, resp)
}

// sourceError marks a failure to reach the source as ErrSourceUnavailable;
// other errors pass as they are.
func sourceError(err error) error {
	if errors.Is(err, datasource.ErrConnectionFailed) {
		return &unavailable{err: err}
	}
	return err
}
