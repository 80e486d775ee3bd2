package search

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/altus4/altus/pkg/rrf"
)

// integerTypes are the SQL data types whose values are JSON numbers in
// results.
var integerTypes = map[string]bool{
	"tinyint": true, "smallint": true, "mediumint": true, "int": true, "integer": true, "bigint": true,
}

// isIntegerType reports whether a column type (as information_schema
// names it, possibly with a width or "unsigned") holds integers.
func isIntegerType(t string) bool {
	t = strings.ToLower(strings.TrimSpace(t))
	if i := strings.IndexAny(t, "( "); i >= 0 {
		t = t[:i]
	}
	return integerTypes[t]
}

// maxSafeInteger is the largest integer a JSON number (a double) holds
// exactly; larger integers are returned as strings so no digit is lost.
const maxSafeInteger = 1<<53 - 1

// typedValue converts a column value: SQL NULL to nil, integer columns to
// int64 (as a string beyond ±2^53), everything else to its text.
func typedValue(colType, v string, null bool) any {
	if null {
		return nil
	}
	if isIntegerType(colType) {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n <= maxSafeInteger && n >= -maxSafeInteger {
			return n
		}
	}
	return v
}

// resultID returns the stable id of a row: "<source id>:<table>:<pk1>[,<pk2>…]"
// with each primary key value path-escaped (so a comma or slash in a value
// cannot be confused with the separators).
func resultID(sourceID, table string, pk []string) string {
	var b strings.Builder
	b.Grow(len(sourceID) + len(table) + 2 + 8*len(pk))
	b.WriteString(sourceID)
	b.WriteByte(':')
	b.WriteString(table)
	b.WriteByte(':')
	for i, v := range pk {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(url.PathEscape(v))
	}
	return b.String()
}

// rowKey returns the id and typed primary key of a row of a table whose
// values start with the primary key columns. A table without a primary key
// is identified by a hash of the values returned ("~" + 16 hex digits):
// stable as long as the row is unchanged.
func rowKey(sourceID string, t *Table, row Row) RowKey {
	n := len(t.PrimaryKey)
	if n == 0 || n > len(row.Values) {
		h := sha256.New()
		for i, v := range row.Values {
			if i < len(row.Nulls) && row.Nulls[i] {
				h.Write([]byte{0})
			} else {
				h.Write([]byte{1})
				h.Write([]byte(v))
			}
			h.Write([]byte{0xff})
		}
		id := "~" + hex.EncodeToString(h.Sum(nil))[:16]
		return RowKey{ID: resultID(sourceID, t.Name, []string{id}), PK: []PKValue{{Str: id}}}
	}
	pk := make([]PKValue, n)
	for i, name := range t.PrimaryKey {
		c, ok := t.Column(name)
		pk[i] = rrf.KeyValue(row.Values[i], ok && isIntegerType(c.Type))
	}
	return RowKey{ID: resultID(sourceID, t.Name, row.Values[:n]), PK: pk}
}

// rowData returns the fields of a row, typed by the table's column types.
func rowData(t *Table, columns []string, row Row, maxChars int) ([]Field, []string) {
	out := make([]Field, 0, len(columns))
	var truncated []string
	for i, name := range columns {
		if i >= len(row.Values) {
			break
		}
		null := i < len(row.Nulls) && row.Nulls[i]
		typ := ""
		if c, ok := t.Column(name); ok {
			typ = c.Type
		}
		v := typedValue(typ, row.Values[i], null)
		if text, ok := v.(string); ok && maxChars > 0 {
			if cut, was := crop(text, maxChars); was {
				v = cut
				truncated = append(truncated, name)
			}
		}
		out = append(out, Field{Name: name, Value: v})
	}
	return out, truncated
}

// crop cuts text to at most max characters, at the last space of its second
// half when there is one, and ends it with "…". A text of exactly
// MaxValueChars characters is taken as already cut by dbrouter (which reads
// no more of a column) and reported cut.
func crop(text string, max int) (string, bool) {
	n := utf8.RuneCountInString(text)
	if n <= max {
		return text, n == MaxValueChars
	}
	end := 0
	for i := range max {
		_, size := utf8.DecodeRuneInString(text[end:])
		end += size
		_ = i
	}
	if sp := strings.LastIndexAny(text[:end], " \t\n"); sp > end/2 {
		end = sp
	}
	return strings.TrimRight(text[:end], " \t\n,;:") + "…", true
}
