package fulltext

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/altus4/altus/services/dbrouter/internal/datasource"
	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/sqlbuild"
)

// deadlineMargin is kept between the server-side limit of a statement and
// the caller's deadline, so that the server interrupts the statement (and
// the connection stays usable) before the client gives up on it.
const deadlineMargin = 10 * time.Millisecond

// MySQL errors of a statement interrupted for running too long.
const (
	errMariaDBStatementTimeout = 1969 // max_statement_time exceeded
	errMySQLQueryTimeout       = 3024 // MAX_EXECUTION_TIME exceeded
	errQueryInterrupted        = 1317
	// A statement stopped by the time limit inside InnoDB's full-text search
	// comes back with the storage engine's code, HA_ERR_ABORTED_BY_USER
	// ("operation was interrupted"), and inside a sort as "Sort aborted".
	errEngineAborted = 188
	errSortAborted   = 1028
)

// Statement outcomes, as metric labels.
const (
	outcomeOK      = "ok"
	outcomeTimeout = "timeout"
	outcomeFailed  = "failed"
)

// Statement kinds, as metric labels and the AttrStatementKind span
// attribute: a plan's search (with or without its window count), a count
// (a plan's separate count or a CountPlan), a fetch, an EXPLAIN.
const (
	kindSearch  = "search"
	kindCount   = "count"
	kindFetch   = "fetch"
	kindExplain = "explain"
)

// AttrStatementKind is the span attribute naming a statement's kind:
// search, count, fetch or explain.
const AttrStatementKind = "altus.statement.kind"

type runner struct {
	e       *Executor
	src     datasource.Source
	server  schema.Server
	timeout time.Duration
}

// all runs the jobs in parallel, at most the source's cap at once (across
// calls). A failure to get a connection fails the whole call: the source
// cannot be reached, and the other jobs are cancelled.
func (r runner) all(ctx context.Context, jobs []job, nPlans, nCounts int, fingerprint string) (Response, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]Result, len(jobs))
	waits := make([]time.Duration, len(jobs))
	sem := r.e.semaphore(r.src.ID)
	var (
		failOnce sync.Once
		fail     error
		wg       sync.WaitGroup
	)
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := &jobs[i]
			start := time.Now()
			if err := sem.Acquire(ctx, 1); err != nil {
				waits[i] = time.Since(start)
				results[i] = failed(j, timeoutError(err), 0)
				return
			}
			defer sem.Release(1)
			conn, replica, err := r.acquire(ctx)
			waits[i] = time.Since(start)
			if err != nil {
				if ctx.Err() != nil {
					results[i] = failed(j, timeoutError(ctx.Err()), 0)
					return
				}
				failOnce.Do(func() {
					fail = err
					cancel()
				})
				return
			}
			res := r.run(ctx, conn, j)
			if replica == nil || !pool.IsConnectionError(res.Err) || ctx.Err() != nil {
				conn.Release()
				r.e.metrics.reads.WithLabelValues(r.src.ID, serverLabel(replica)).Inc()
				results[i] = res
				return
			}
			// The replica went away under the statement: eject it and run
			// the job once more on the primary.
			conn.Discard()
			r.src.Replicas.Fail(replica, pool.ReasonConnection)
			r.e.metrics.retries.WithLabelValues(r.src.ID, replica.Addr().String()).Inc()
			conn, err = r.src.Pool.Acquire(ctx)
			if err != nil {
				if ctx.Err() != nil {
					results[i] = failed(j, timeoutError(ctx.Err()), 0)
					return
				}
				failOnce.Do(func() {
					fail = err
					cancel()
				})
				return
			}
			defer conn.Release()
			r.e.metrics.reads.WithLabelValues(r.src.ID, ServerPrimary).Inc()
			results[i] = r.run(ctx, conn, j)
		}()
	}
	wg.Wait()
	if fail != nil {
		return Response{}, sourceError(r.e.sources.PoolError(fail))
	}
	resp := Response{Plans: results[:nPlans], Counts: results[nPlans : nPlans+nCounts], Fetches: results[nPlans+nCounts:],
		Version: r.src.Version, Fingerprint: fingerprint}
	for _, w := range waits {
		resp.Queued = max(resp.Queued, w)
	}
	return resp, nil
}

// acquire returns a connection for a read: to the least-loaded healthy
// read replica (and that replica), else to the primary. A replica that
// cannot be reached is ejected and the primary is used instead; one whose
// connections are all busy is skipped for this read only.
func (r runner) acquire(ctx context.Context) (*pool.Conn, *pool.Replica, error) {
	if rep := r.src.Replicas.Pick(); rep != nil {
		c, err := rep.Pool().Acquire(ctx)
		if err == nil {
			return c, rep, nil
		}
		if ctx.Err() != nil {
			return nil, nil, err
		}
		if pool.IsConnectionError(err) && !errors.Is(err, pool.ErrAcquireTimeout) && !errors.Is(err, pool.ErrClosed) {
			r.src.Replicas.Fail(rep, pool.ReasonConnection)
		}
	}
	c, err := r.src.Pool.Acquire(ctx)
	return c, nil, err
}

func serverLabel(rep *pool.Replica) string {
	if rep == nil {
		return ServerPrimary
	}
	return rep.Addr().String()
}

func failed(j *job, err error, elapsed time.Duration) Result {
	return Result{Columns: j.search.Columns, Total: -1, Err: err, Elapsed: elapsed, Statement: j.search.SQL}
}

// run runs one job on conn.
func (r runner) run(ctx context.Context, conn *pool.Conn, j *job) Result {
	res := Result{Columns: j.search.Columns, Total: -1, Statement: j.search.SQL}
	start := time.Now()
	r.runJob(ctx, conn, j, &res)
	res.Elapsed = time.Since(start)
	return res
}

func (r runner) runJob(ctx context.Context, conn *pool.Conn, j *job, res *Result) {
	switch {
	case j.explain:
		res.Explain, res.Err = r.explain(ctx, conn, j)
	case j.isFetch:
		res.Rows, res.Err = r.fetch(ctx, conn, j)
	case j.isCount:
		total, err := r.count(ctx, conn, j.table, j.search.SQL, j.args, r.e.countBudget)
		res.Total = int(total)
		if isTimeout(err) {
			// Nothing is known but that the count ran out of budget.
			res.Total, res.TotalEstimated = 0, true
		} else if err != nil {
			res.Total, res.Err = -1, err
		}
	case j.count && r.e.countStrategy == CountWindow && r.server.WindowFunctions:
		// The window count has the statement's own limit, not the count
		// budget: ranking by relevance reads every match anyway, so the
		// count adds a fraction to the search (24 → 31 ms on the Debian
		// packages); stopping a slow statement at the budget and running
		// it again without the count would cost the budget on top of
		// nearly the whole search.
		rows, total, err := r.search(ctx, conn, j, j.withTotal, true, r.timeout)
		// The statement that ran is the one with the window count.
		res.Rows, res.Err, res.Statement = rows, err, j.withTotal.SQL
		if err == nil {
			res.Total = total
			if len(rows) == 0 {
				// No row carried the window's count.
				res.Total, _ = exactFromPage(j, 0)
				if res.Total < 0 {
					total, cerr := r.count(ctx, conn, j.table, j.countOnly.SQL, j.countArgs, r.e.countBudget)
					res.Total, res.TotalEstimated = countOutcome(j, 0, total, cerr)
				}
			}
		}
	default:
		rows, _, err := r.search(ctx, conn, j, j.search, false, r.timeout)
		res.Rows, res.Err = rows, err
		if err != nil || !j.count {
			break
		}
		if exact, ok := exactFromPage(j, len(rows)); ok {
			res.Total = exact
			break
		}
		total, cerr := r.count(ctx, conn, j.table, j.countOnly.SQL, j.countArgs, r.e.countBudget)
		res.Total, res.TotalEstimated = countOutcome(j, len(rows), total, cerr)
	}
}

// exactFromPage returns the total when the page itself proves it: a short
// page that is not past the end (some rows, or the first page).
func exactFromPage(j *job, n int) (int, bool) {
	if n < j.limit && (n > 0 || j.offset == 0) {
		return j.offset + n, true
	}
	return -1, false
}

// lowerBound is what a page proves about the total: offset + its rows.
func lowerBound(j *job, n int) int {
	if n == 0 {
		return 0
	}
	return j.offset + n
}

// countOutcome turns a separate count into the plan's total: exact, or a
// lower bound (estimated) when the count failed or ran out of budget.
func countOutcome(j *job, n int, total int64, err error) (int, bool) {
	if err != nil {
		return lowerBound(j, n), true
	}
	return int(min(total, int64(^uint32(0)>>1))), false
}

// search runs stmt (the plain statement or the one with the total) and
// returns its rows and, for the latter, the total.
func (r runner) search(ctx context.Context, conn *pool.Conn, j *job, stmt sqlbuild.Statement, withTotal bool, limit time.Duration) ([]Row, int, error) {
	n := len(stmt.Columns)
	var out []Row
	total := -1
	err := r.query(ctx, conn, kindSearch, j.table, stmt.SQL, j.args, limit, func(rows *sql.Rows) error {
		vals := make([]sql.NullString, n)
		dest := make([]any, 0, n+2)
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		var score float64
		var t int64
		dest = append(dest, &score)
		if withTotal {
			dest = append(dest, &t)
		}
		out = make([]Row, 0, min(j.limit, 64))
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			row := Row{Values: make([]string, n), Nulls: make([]bool, n), Score: score}
			for i, v := range vals {
				row.Values[i], row.Nulls[i] = v.String, !v.Valid
			}
			out = append(out, row)
			total = int(t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, -1, err
	}
	encodeKeys(out, j.pk)
	return out, total, nil
}

// fetch runs a fetch's statement and returns the rows found.
func (r runner) fetch(ctx context.Context, conn *pool.Conn, j *job) ([]Row, error) {
	n := len(j.search.Columns)
	out := make([]Row, 0, len(j.args)/max(len(j.pk), 1))
	err := r.query(ctx, conn, kindFetch, j.table, j.search.SQL, j.args, r.timeout, func(rows *sql.Rows) error {
		vals := make([]sql.NullString, n)
		dest := make([]any, n)
		for i := range vals {
			dest[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			row := Row{Values: make([]string, n), Nulls: make([]bool, n)}
			for i, v := range vals {
				row.Values[i], row.Nulls[i] = v.String, !v.Valid
			}
			out = append(out, row)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	encodeKeys(out, j.pk)
	return out, nil
}

// count runs a COUNT(*) statement limited to budget.
func (r runner) count(ctx context.Context, conn *pool.Conn, table schema.Table, stmt string, args []any, budget time.Duration) (int64, error) {
	var total int64
	err := r.query(ctx, conn, kindCount, table, stmt, args, min(r.timeout, budget), func(rows *sql.Rows) error {
		for rows.Next() {
			if err := rows.Scan(&total); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return total, err
}

// explain runs EXPLAIN of the job's statement.
func (r runner) explain(ctx context.Context, conn *pool.Conn, j *job) ([]map[string]string, error) {
	var out []map[string]string
	err := r.query(ctx, conn, kindExplain, j.table, sqlbuild.Explain(j.search.SQL), j.args, r.timeout, func(rows *sql.Rows) error {
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		vals := make([]sql.NullString, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			m := make(map[string]string, len(cols))
			for i, v := range vals {
				if v.Valid {
					m[cols[i]] = v.String
				}
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, err
}

// query runs one statement of kind (a metric label and span attribute) as
// a client span: limited on the server to min(limit, the caller's
// remaining time), with the span's traceparent in a leading comment, and
// read by scan. Errors are ErrTimeout or ErrQueryFailed plan errors.
func (r runner) query(ctx context.Context, conn *pool.Conn, kind string, table schema.Table, stmt string, args []any, limit time.Duration, scan func(*sql.Rows) error) error {
	if dl, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(dl)-deadlineMargin)
	}
	if limit < time.Millisecond {
		r.e.metrics.observe(r.src.ID, kind, outcomeTimeout, 0)
		return timeoutError(context.DeadlineExceeded)
	}
	limited := sqlbuild.WithTimeLimit(stmt, r.server.StatementTimeLimit, limit)
	ctx, span := r.e.tracer.Start(ctx, "SELECT "+table.Name, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	if span.IsRecording() {
		// Built only for a span that is exported: a statement without
		// tracing costs no attribute.
		st := conn.Settings()
		span.SetAttributes(
			attribute.String("db.system", "mysql"),
			attribute.String("db.system.name", r.server.Flavor),
			attribute.String("db.namespace", table.Database),
			attribute.String("db.name", table.Database),
			attribute.String("db.collection.name", table.Name),
			attribute.String("db.operation.name", "SELECT"),
			attribute.String("db.query.text", limited),
			attribute.String(AttrStatementKind, kind),
			attribute.String("server.address", st.Host),
			attribute.Int("server.port", st.Port),
		)
	}
	text := sqlbuild.WithTraceparent(limited, traceparent(span.SpanContext()))
	if r.e.rewrite != nil {
		text = r.e.rewrite(text)
	}
	start := time.Now()
	err := func() error {
		rows, err := conn.QueryContext(ctx, text, args...)
		if err != nil {
			return err
		}
		serr := scan(rows)
		if cerr := rows.Close(); serr == nil {
			serr = cerr
		}
		return serr
	}()
	elapsed := time.Since(start)
	if err == nil {
		r.e.metrics.observe(r.src.ID, kind, outcomeOK, elapsed)
		return nil
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, "statement failed")
	if isInterrupted(err) {
		r.e.metrics.observe(r.src.ID, kind, outcomeTimeout, elapsed)
		return timeoutError(err)
	}
	r.e.metrics.observe(r.src.ID, kind, outcomeFailed, elapsed)
	r.e.log.WarnContext(ctx, "search statement failed", "source", r.src.ID, "table", table.Name, "kind", kind, "error", err)
	return queryFailed(err)
}

// traceparent renders a span context as a W3C traceparent, or "".
func traceparent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

func isInterrupted(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case errMariaDBStatementTimeout, errMySQLQueryTimeout, errQueryInterrupted, errEngineAborted, errSortAborted:
			return true
		}
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func isTimeout(err error) bool { return errors.Is(err, ErrTimeout) }

func timeoutError(err error) error {
	return &planError{kind: ErrTimeout, public: ErrTimeout.public, err: err}
}

// queryFailed is ErrQueryFailed with a message that names the server's
// error number only (its text may quote the statement).
func queryFailed(err error) error {
	public := ErrQueryFailed.public
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		public = fmt.Sprintf("The database refused the search statement (MySQL error %s).", strconv.Itoa(int(me.Number)))
	}
	return &planError{kind: ErrQueryFailed, public: public, err: err}
}
