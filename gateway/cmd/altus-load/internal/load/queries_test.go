package load

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuiltinQueriesAreFiftyDistinctNaturalAndBoolean(t *testing.T) {
	qs := BuiltinQueries()
	if len(qs) != 50 {
		t.Fatalf("%d built-in queries, want 50", len(qs))
	}
	modes := map[string]int{}
	seen := map[Query]bool{}
	for _, q := range qs {
		if seen[q] {
			t.Errorf("query %+v twice", q)
		}
		seen[q] = true
		modes[q.Mode]++
	}
	if diff := cmp.Diff(map[string]int{ModeNatural: 30, ModeBoolean: 20}, modes); diff != "" {
		t.Errorf("queries by mode (-want +got):\n%s", diff)
	}
	// The modes are interleaved: a short run sends both.
	if qs[0].Mode == qs[1].Mode {
		t.Errorf("first two queries %+v: want one of each mode", qs[:2])
	}
}

func TestParseQueries(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		mode    string
		want    []Query
		wantErr bool
	}{
		{
			name: "plain lines take the default mode, comments and blanks skipped",
			in:   "# packages\nweb server\n\n  image editor  \n",
			mode: ModeBoolean,
			want: []Query{{"web server", ModeBoolean}, {"image editor", ModeBoolean}},
		},
		{
			name: "a mode and a tab",
			in:   "boolean\t\"web server\" -apache\nexpansion\tchess\nnatural\tpdf viewer\n",
			want: []Query{{`"web server" -apache`, ModeBoolean}, {"chess", ModeExpansion}, {"pdf viewer", ModeNatural}},
		},
		{
			name: "an unknown word before a tab is part of the query",
			in:   "fast\tweb server\n",
			want: []Query{{"fast\tweb server", ModeNatural}},
		},
		{name: "no queries", in: "# nothing\n\n", wantErr: true},
		{name: "a mode without a query", in: "natural\t \n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseQueries(strings.NewReader(tt.in), tt.mode)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
