package schema

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"sync/atomic"
	"testing"
)

// fakeQuerier answers the tables query with the given rows and the other
// discovery queries with no rows, through a tiny database/sql driver.
func fakeQuerier(t *testing.T, tables [][]any) Querier {
	t.Helper()
	db := sql.OpenDB(fakeConnector{fakeDriver{tables: tables}})
	t.Cleanup(func() { db.Close() })
	return db
}

type fakeDriver struct{ tables [][]any }

func (d fakeDriver) Open(string) (driver.Conn, error) { return fakeConn(d), nil }

type fakeConnector struct{ d fakeDriver }

func (c fakeConnector) Connect(context.Context) (driver.Conn, error) { return fakeConn(c.d), nil }
func (c fakeConnector) Driver() driver.Driver                        { return c.d }

type fakeConn fakeDriver

func (c fakeConn) Prepare(string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (c fakeConn) Close() error                        { return nil }
func (c fakeConn) Begin() (driver.Tx, error)           { return nil, driver.ErrSkip }

func (c fakeConn) QueryContext(_ context.Context, query string, _ []driver.NamedValue) (driver.Rows, error) {
	if query == tablesQuery {
		return &fakeRows{cols: []string{"TABLE_NAME", "TABLE_ROWS", "ENGINE"}, rows: c.tables}, nil
	}
	return &fakeRows{cols: []string{"a", "b", "c", "d"}}, nil
}

type fakeRows struct {
	cols []string
	rows [][]any
	i    atomic.Int32
}

func (r *fakeRows) Columns() []string { return r.cols }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	i := int(r.i.Add(1)) - 1
	if i >= len(r.rows) {
		return io.EOF
	}
	for j, v := range r.rows[i] {
		dest[j] = v
	}
	return nil
}
