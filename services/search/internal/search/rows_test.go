package search

import (
	"strings"
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
	if diff := cmp.Diff(want, first(rowData(table, cols, row, 0))); diff != "" {
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

func first[A, B any](a A, _ B) A { return a }

func TestCropCutsLongValuesAtAWordAndFlagsThem(t *testing.T) {
	tests := []struct {
		text    string
		max     int
		want    string
		wantCut bool
	}{
		{"short", 10, "short", false},
		{"one two three four", 12, "one two…", true},
		{"abcdefghijklmnop", 5, "abcde…", true},
		{"héllo wörld ünïcode", 13, "héllo wörld…", true},
		{strings.Repeat("x", MaxValueChars), MaxValueChars, strings.Repeat("x", MaxValueChars), true},
	}
	for _, tt := range tests {
		got, cut := crop(tt.text, tt.max)
		if got != tt.want || cut != tt.wantCut {
			t.Errorf("crop(%.20q, %d) = %q, %v; want %q, %v", tt.text, tt.max, got, cut, tt.want, tt.wantCut)
		}
	}
}
