package search

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResultIDIsSourceTableAndEscapedPrimaryKey(t *testing.T) {
	tests := []struct {
		name string
		pk   []string
		want string
	}{
		{"integer key", []string{"42"}, "src-1:articles:42"},
		{"composite key", []string{"ada", "7"}, "src-1:articles:ada,7"},
		{"separators in values are escaped", []string{"a,b", "c/d", "e f"}, "src-1:articles:a%2Cb,c%2Fd,e%20f"},
		{"non-ASCII is escaped", []string{"café"}, "src-1:articles:caf%C3%A9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resultID("src-1", "articles", tt.pk); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRowKeyIsStableAndTypesIntegerKeys(t *testing.T) {
	table := &Table{Name: "notes", PrimaryKey: []string{"owner", "seq"}, Columns: []Column{
		{Name: "owner", Type: "varchar"}, {Name: "seq", Type: "int"}, {Name: "content", Type: "text"},
	}}
	row := Row{Values: []string{"ada", "7", "hello"}, Nulls: []bool{false, false, false}}
	got := rowKey("s", table, row)
	want := RowKey{ID: "s:notes:ada,7", PK: []PKValue{{Str: "ada"}, {Int: 7, IsInt: true}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	nopk := &Table{Name: "log", Columns: []Column{{Name: "line", Type: "text"}}}
	a := rowKey("s", nopk, Row{Values: []string{"x"}, Nulls: []bool{false}})
	b := rowKey("s", nopk, Row{Values: []string{"x"}, Nulls: []bool{false}})
	c := rowKey("s", nopk, Row{Values: []string{""}, Nulls: []bool{true}})
	if a.ID != b.ID || a.ID == c.ID {
		t.Errorf("ids of a table without primary key: same row %q vs %q; NULL row %q", a.ID, b.ID, c.ID)
	}
}

func TestRowDataTypesIntegersAsNumbersAndKeepsTheRestAsText(t *testing.T) {
	table := &Table{Name: "t", Columns: []Column{
		{Name: "id", Type: "bigint"}, {Name: "n", Type: "tinyint"}, {Name: "big", Type: "bigint"},
		{Name: "price", Type: "decimal"}, {Name: "title", Type: "varchar"}, {Name: "note", Type: "text"},
		{Name: "neg", Type: "int"},
	}}
	cols := []string{"id", "n", "big", "price", "title", "note", "neg"}
	row := Row{
		Values: []string{"42", "1", "18446744073709551615", "9.99", "0042", "", "-5"},
		Nulls:  []bool{false, false, false, false, false, true, false},
	}
	want := []Field{
		{"id", int64(42)}, {"n", int64(1)}, {"big", "18446744073709551615"}, {"price", "9.99"},
		{"title", "0042"}, {"note", nil}, {"neg", int64(-5)},
	}
	if diff := cmp.Diff(want, rowData(table, cols, row)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestIsIntegerType(t *testing.T) {
	for typ, want := range map[string]bool{
		"int": true, "INT": true, "bigint": true, "int(11) unsigned": true, "mediumint": true, "smallint": true,
		"tinyint": true, "integer": true, "decimal": false, "float": false, "varchar": false, "year": false, "": false,
	} {
		if got := isIntegerType(typ); got != want {
			t.Errorf("isIntegerType(%q) = %v, want %v", typ, got, want)
		}
	}
}
