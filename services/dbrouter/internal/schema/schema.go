// Package schema discovers what a data source holds — its base tables, their
// columns, primary keys and FULLTEXT indexes with their exact ordered column
// lists — from information_schema, and caches it per source so that it is
// read once per TTL rather than on every request.
//
// The query compiler relies on the FULLTEXT column lists being exact:
// MATCH() must name precisely the columns of one index, in its order.
package schema

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
)

// Column is one column of a table.
type Column struct {
	Name string
	// Type is the SQL data type as information_schema names it, e.g. "varchar".
	Type string
	// IsPrimaryKey is true for columns of the primary key.
	IsPrimaryKey bool
	// IsSearchable is true for text columns a FULLTEXT index could cover.
	IsSearchable bool
	// MaxChars is the most characters a value holds (0 for columns that
	// are not text).
	MaxChars uint32
	// IsFullTextIndexed is true for columns in at least one FULLTEXT index.
	IsFullTextIndexed bool
}

// FullTextIndex is a FULLTEXT index and its columns in index order.
type FullTextIndex struct {
	Name    string
	Columns []string
}

// Table is one base table of a source's database.
type Table struct {
	Database string
	Name     string
	// Columns in their ordinal order.
	Columns []Column
	// FullTextIndexes sorted by name.
	FullTextIndexes []FullTextIndex
	// PrimaryKey lists the primary key columns in key order (empty when none).
	PrimaryKey []string
	// Engine is the storage engine, e.g. "InnoDB" or "MyISAM": full-text
	// tokenisation rules (token sizes, stopwords) depend on it.
	Engine string
	// EstimatedRows is the server's estimate, saturated at math.MaxUint32.
	EstimatedRows uint32
	// LastAnalyzed is when the table was read from information_schema.
	LastAnalyzed time.Time
}

// Column returns the column called name.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Schema is everything discovered in one source's database.
type Schema struct {
	Database string
	// Tables sorted by name.
	Tables []Table
	// Fingerprint is a hash of the structure (tables and their engines,
	// columns, types, keys and FULLTEXT indexes; not row estimates, times
	// or server settings): it changes exactly
	// when the structure does, so caches of compiled statements and results
	// can include it in their keys.
	Fingerprint string
	// DiscoveredAt is when the schema was read.
	DiscoveredAt time.Time
	// Server holds the server's full-text facts, read with the schema
	// (ReadServer) so that they are cached with it.
	Server Server
}

// Table returns the table called name.
func (s Schema) Table(name string) (Table, bool) {
	for _, t := range s.Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// Querier runs a query; *sql.DB, *sql.Conn and *pool.Conn satisfy it.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// searchableTypes are the column types a FULLTEXT index can cover.
var searchableTypes = map[string]bool{
	"char": true, "varchar": true, "tinytext": true, "text": true, "mediumtext": true, "longtext": true,
}

// The discovery queries read only the source's own database (TABLE_SCHEMA = ?).
const (
	// System-versioned tables (MariaDB) are base tables too.
	tablesQuery = `SELECT TABLE_NAME, TABLE_ROWS, ENGINE FROM information_schema.TABLES
WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
ORDER BY TABLE_NAME`
	columnsQuery = `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = ?
ORDER BY TABLE_NAME, ORDINAL_POSITION`
	indexesQuery = `SELECT TABLE_NAME, INDEX_NAME, INDEX_TYPE, COLUMN_NAME FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = ? AND (INDEX_TYPE = 'FULLTEXT' OR INDEX_NAME = 'PRIMARY')
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`
)

// Discover reads the schema of database through q; now stamps it.
func Discover(ctx context.Context, q Querier, database string, now time.Time) (Schema, error) {
	s := Schema{Database: database, DiscoveredAt: now}
	byName := map[string]*Table{}

	rows, err := q.QueryContext(ctx, tablesQuery, database)
	if err != nil {
		return Schema{}, fmt.Errorf("schema: read tables: %w", err)
	}
	var names, engines []string
	var estimates []uint32
	for rows.Next() {
		var name string
		var est sql.Null[uint64]
		var engine sql.NullString
		if err := rows.Scan(&name, &est, &engine); err != nil {
			rows.Close()
			return Schema{}, fmt.Errorf("schema: read tables: %w", err)
		}
		names = append(names, name)
		estimates = append(estimates, uint32(min(est.V, math.MaxUint32)))
		engines = append(engines, engine.String)
	}
	if err := closeRows(rows); err != nil {
		return Schema{}, fmt.Errorf("schema: read tables: %w", err)
	}
	s.Tables = make([]Table, len(names))
	for i, name := range names {
		s.Tables[i] = Table{Database: database, Name: name, Engine: engines[i], EstimatedRows: estimates[i], LastAnalyzed: now}
		byName[name] = &s.Tables[i]
	}

	rows, err = q.QueryContext(ctx, columnsQuery, database)
	if err != nil {
		return Schema{}, fmt.Errorf("schema: read columns: %w", err)
	}
	for rows.Next() {
		var table, name, typ string
		var maxChars sql.NullInt64
		if err := rows.Scan(&table, &name, &typ, &maxChars); err != nil {
			rows.Close()
			return Schema{}, fmt.Errorf("schema: read columns: %w", err)
		}
		t, ok := byName[table]
		if !ok {
			continue // a view
		}
		typ = strings.ToLower(typ)
		t.Columns = append(t.Columns, Column{Name: name, Type: typ, IsSearchable: searchableTypes[typ], MaxChars: uint32(min(max(maxChars.Int64, 0), math.MaxUint32))})
	}
	if err := closeRows(rows); err != nil {
		return Schema{}, fmt.Errorf("schema: read columns: %w", err)
	}

	rows, err = q.QueryContext(ctx, indexesQuery, database)
	if err != nil {
		return Schema{}, fmt.Errorf("schema: read indexes: %w", err)
	}
	for rows.Next() {
		var table, index, typ, column string
		if err := rows.Scan(&table, &index, &typ, &column); err != nil {
			rows.Close()
			return Schema{}, fmt.Errorf("schema: read indexes: %w", err)
		}
		t, ok := byName[table]
		if !ok {
			continue
		}
		if index == "PRIMARY" && !strings.EqualFold(typ, "FULLTEXT") {
			t.PrimaryKey = append(t.PrimaryKey, column)
			continue
		}
		if n := len(t.FullTextIndexes); n > 0 && t.FullTextIndexes[n-1].Name == index {
			t.FullTextIndexes[n-1].Columns = append(t.FullTextIndexes[n-1].Columns, column)
		} else {
			t.FullTextIndexes = append(t.FullTextIndexes, FullTextIndex{Name: index, Columns: []string{column}})
		}
	}
	if err := closeRows(rows); err != nil {
		return Schema{}, fmt.Errorf("schema: read indexes: %w", err)
	}

	for i := range s.Tables {
		markColumns(&s.Tables[i])
	}
	s.Fingerprint = fingerprint(s.Tables)
	return s, nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

func markColumns(t *Table) {
	pk := map[string]bool{}
	for _, c := range t.PrimaryKey {
		pk[c] = true
	}
	ft := map[string]bool{}
	for _, ix := range t.FullTextIndexes {
		for _, c := range ix.Columns {
			ft[c] = true
		}
	}
	for i := range t.Columns {
		t.Columns[i].IsPrimaryKey = pk[t.Columns[i].Name]
		t.Columns[i].IsFullTextIndexed = ft[t.Columns[i].Name]
	}
}

// fingerprint hashes the structure of tables (names, engines, columns,
// types, keys, FULLTEXT indexes) in a canonical, unambiguous
// encoding (every name is length-prefixed).
func fingerprint(tables []Table) string {
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s", len(p), p)
		}
	}
	for _, t := range tables {
		w("T", t.Name, t.Engine)
		for _, c := range t.Columns {
			w("C", c.Name, c.Type)
		}
		w("P")
		w(t.PrimaryKey...)
		for _, ix := range t.FullTextIndexes {
			w("F", ix.Name)
			w(ix.Columns...)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
