package sqlbuild

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/services/dbrouter/internal/schema"
)

var posts = schema.Table{
	Database: "shop",
	Name:     "posts",
	Columns: []schema.Column{
		{Name: "id", Type: "int", IsPrimaryKey: true},
		{Name: "title", Type: "varchar", IsSearchable: true, IsFullTextIndexed: true},
		{Name: "body", Type: "text", IsSearchable: true, IsFullTextIndexed: true},
		{Name: "views", Type: "int"},
	},
	PrimaryKey:      []string{"id"},
	FullTextIndexes: []schema.FullTextIndex{{Name: "ft", Columns: []string{"body", "title"}}},
}

func TestSearchStatementShape(t *testing.T) {
	tests := []struct {
		name string
		in   Search
		want Statement
	}{
		{
			name: "natural, index columns in index order, text bounded, pk order",
			in:   Search{Table: posts, Index: posts.FullTextIndexes[0], Columns: []string{"title", "views", "id"}, Mode: ModeNatural, MaxValueChars: 100},
			want: Statement{
				SQL: "SELECT `id`, LEFT(`title`, 100) AS `title`, `views`, MATCH(`body`, `title`) AGAINST(? IN NATURAL LANGUAGE MODE) AS `score` " +
					"FROM `shop`.`posts` WHERE MATCH(`body`, `title`) AGAINST(? IN NATURAL LANGUAGE MODE) ORDER BY `score` DESC, `id` ASC LIMIT ? OFFSET ?",
				Columns: []string{"id", "title", "views"}, NArgs: 4,
			},
		},
		{
			name: "keys only: the primary key and the score, no text to sort",
			in:   Search{Table: posts, Index: posts.FullTextIndexes[0], Mode: ModeNatural, MaxValueChars: 100, WithTotal: true},
			want: Statement{
				SQL: "SELECT `id`, MATCH(`body`, `title`) AGAINST(? IN NATURAL LANGUAGE MODE) AS `score`, COUNT(*) OVER () AS `total` " +
					"FROM `shop`.`posts` WHERE MATCH(`body`, `title`) AGAINST(? IN NATURAL LANGUAGE MODE) ORDER BY `score` DESC, `id` ASC LIMIT ? OFFSET ?",
				Columns: []string{"id"}, NArgs: 4,
			},
		},
		{
			name: "unordered: the first rows found, no sort",
			in:   Search{Table: posts, Index: posts.FullTextIndexes[0], Columns: []string{"title"}, Mode: ModeBoolean, MaxValueChars: 100, Unordered: true},
			want: Statement{
				SQL: "SELECT `id`, LEFT(`title`, 100) AS `title`, MATCH(`body`, `title`) AGAINST(? IN BOOLEAN MODE) AS `score` " +
					"FROM `shop`.`posts` WHERE MATCH(`body`, `title`) AGAINST(? IN BOOLEAN MODE) LIMIT ? OFFSET ?",
				Columns: []string{"id", "title"}, NArgs: 4,
			},
		},
		{
			name: "boolean with the total in the same statement",
			in:   Search{Table: posts, Index: posts.FullTextIndexes[0], Mode: ModeBoolean, MaxValueChars: 8, WithTotal: true},
			want: Statement{
				SQL: "SELECT `id`, MATCH(`body`, `title`) AGAINST(? IN BOOLEAN MODE) AS `score`, COUNT(*) OVER () AS `total` " +
					"FROM `shop`.`posts` WHERE MATCH(`body`, `title`) AGAINST(? IN BOOLEAN MODE) ORDER BY `score` DESC, `id` ASC LIMIT ? OFFSET ?",
				Columns: []string{"id"}, NArgs: 4,
			},
		},
		{
			name: "expansion; identifiers with backticks are escaped; a column named score moves the alias",
			in: Search{
				Table: schema.Table{Database: "d`b", Name: "t`1", PrimaryKey: []string{"a`b", "c"},
					Columns: []schema.Column{{Name: "a`b"}, {Name: "c"}, {Name: "Score", IsSearchable: true}}},
				Index: schema.FullTextIndex{Name: "x", Columns: []string{"Score"}}, Columns: []string{"Score"}, Mode: ModeExpansion, MaxValueChars: 5,
			},
			want: Statement{
				SQL: "SELECT `a``b`, `c`, LEFT(`Score`, 5) AS `Score`, MATCH(`Score`) AGAINST(? WITH QUERY EXPANSION) AS `score_1` " +
					"FROM `d``b`.`t``1` WHERE MATCH(`Score`) AGAINST(? WITH QUERY EXPANSION) ORDER BY `score_1` DESC, `a``b` ASC, `c` ASC LIMIT ? OFFSET ?",
				Columns: []string{"a`b", "c", "Score"}, NArgs: 4,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SearchStatement(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n := strings.Count(got.SQL, "?"); n != got.NArgs {
				t.Errorf("%d placeholders, NArgs %d", n, got.NArgs)
			}
		})
	}
}

func TestSearchStatementRejectsWhatItCannotBuild(t *testing.T) {
	ix := posts.FullTextIndexes[0]
	for name, in := range map[string]Search{
		"unknown mode":   {Table: posts, Index: ix, Mode: "semantic", MaxValueChars: 1},
		"unknown column": {Table: posts, Index: ix, Mode: ModeNatural, Columns: []string{"nope"}, MaxValueChars: 1},
		"empty index":    {Table: posts, Index: schema.FullTextIndex{Name: "e"}, Mode: ModeNatural, MaxValueChars: 1},
		"no value bound": {Table: posts, Index: ix, Mode: ModeNatural},
	} {
		if _, err := SearchStatement(in); err == nil {
			t.Errorf("%s: built a statement", name)
		}
	}
}

func TestCountStatementJoinsEveryMatchWithItsOperator(t *testing.T) {
	title := schema.FullTextIndex{Name: "t", Columns: []string{"title"}}
	matches := []Match{{Index: posts.FullTextIndexes[0], Mode: ModeNatural}, {Index: title, Mode: ModeBoolean}}
	for _, tt := range []struct {
		op   CountOp
		want string
	}{
		{CountAny, "SELECT COUNT(*) FROM `shop`.`posts` WHERE MATCH(`body`, `title`) AGAINST(? IN NATURAL LANGUAGE MODE) OR MATCH(`title`) AGAINST(? IN BOOLEAN MODE)"},
		{CountAll, "SELECT COUNT(*) FROM `shop`.`posts` WHERE MATCH(`body`, `title`) AGAINST(? IN NATURAL LANGUAGE MODE) AND MATCH(`title`) AGAINST(? IN BOOLEAN MODE)"},
	} {
		got, err := CountStatement(posts, matches, tt.op)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Statement{SQL: tt.want, NArgs: 2}, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.op, diff)
		}
	}
	if _, err := CountStatement(posts, nil, CountAny); err == nil {
		t.Error("built a count with no match")
	}
	for _, op := range []CountOp{"", "xor"} {
		if _, err := CountStatement(posts, matches, op); err == nil {
			t.Errorf("built a count with operator %q", op)
		}
	}
}

func TestFetchStatementReadsByPrimaryKey(t *testing.T) {
	tags := schema.Table{Database: "shop", Name: "tags", PrimaryKey: []string{"post_id", "tag"},
		Columns: []schema.Column{{Name: "post_id", Type: "int", IsPrimaryKey: true}, {Name: "tag", Type: "varchar", IsPrimaryKey: true, IsSearchable: true}, {Name: "note", Type: "text", IsSearchable: true}}}
	tests := []struct {
		name string
		in   Fetch
		want Statement
	}{
		{
			name: "one key column: IN of values; text bounded; the primary key once",
			in:   Fetch{Table: posts, Columns: []string{"id", "title", "views"}, MaxValueChars: 100, Keys: 3},
			want: Statement{
				SQL:     "SELECT `id`, LEFT(`title`, 100) AS `title`, `views` FROM `shop`.`posts` FORCE INDEX (PRIMARY) WHERE `id` IN (?, ?, ?)",
				Columns: []string{"id", "title", "views"}, NArgs: 3,
			},
		},
		{
			name: "composite key: IN of tuples in key column order",
			in:   Fetch{Table: tags, Columns: []string{"note"}, MaxValueChars: 8, Keys: 2},
			want: Statement{
				SQL:     "SELECT `post_id`, `tag`, LEFT(`note`, 8) AS `note` FROM `shop`.`tags` FORCE INDEX (PRIMARY) WHERE (`post_id`, `tag`) IN ((?, ?), (?, ?))",
				Columns: []string{"post_id", "tag", "note"}, NArgs: 4,
			},
		},
		{
			name: "one key",
			in:   Fetch{Table: tags, MaxValueChars: 8, Keys: 1},
			want: Statement{
				SQL:     "SELECT `post_id`, `tag` FROM `shop`.`tags` FORCE INDEX (PRIMARY) WHERE (`post_id`, `tag`) IN ((?, ?))",
				Columns: []string{"post_id", "tag"}, NArgs: 2,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FetchStatement(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n := strings.Count(got.SQL, "?"); n != got.NArgs {
				t.Errorf("%d placeholders, NArgs %d", n, got.NArgs)
			}
		})
	}
}

func TestFetchStatementRejectsWhatItCannotBuild(t *testing.T) {
	noKey := posts
	noKey.PrimaryKey = nil
	for name, in := range map[string]Fetch{
		"no primary key": {Table: noKey, MaxValueChars: 1, Keys: 1},
		"no key":         {Table: posts, MaxValueChars: 1},
		"unknown column": {Table: posts, Columns: []string{"nope"}, MaxValueChars: 1, Keys: 1},
		"no value bound": {Table: posts, Keys: 1},
	} {
		if _, err := FetchStatement(in); err == nil {
			t.Errorf("%s: built a statement", name)
		}
	}
}

func TestWithTimeLimitPerServer(t *testing.T) {
	const stmt = "SELECT 1 FROM `t`"
	tests := []struct {
		kind string
		d    time.Duration
		want string
	}{
		{schema.TimeLimitMaxStatementTime, 1500 * time.Millisecond, "SET STATEMENT max_statement_time=1.500 FOR SELECT 1 FROM `t`"},
		{schema.TimeLimitMaxStatementTime, 300 * time.Microsecond, "SET STATEMENT max_statement_time=0.001 FOR SELECT 1 FROM `t`"},
		{schema.TimeLimitMaxExecutionTime, 250 * time.Millisecond, "SELECT /*+ MAX_EXECUTION_TIME(250) */ 1 FROM `t`"},
		{"", time.Second, stmt},
		{schema.TimeLimitMaxStatementTime, 0, stmt},
	}
	for _, tt := range tests {
		if got := WithTimeLimit(stmt, tt.kind, tt.d); got != tt.want {
			t.Errorf("WithTimeLimit(%q, %s) = %q, want %q", tt.kind, tt.d, got, tt.want)
		}
	}
	if got, want := WithTimeLimit(Explain(stmt), schema.TimeLimitMaxExecutionTime, time.Second), "EXPLAIN SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1 FROM `t`"; got != want {
		t.Errorf("explain with limit = %q, want %q", got, want)
	}
}

func TestWithTraceparentOnlyAcceptsATraceparent(t *testing.T) {
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	if got, want := WithTraceparent("SELECT 1", tp), "/*traceparent='"+tp+"'*/ SELECT 1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"", "00-x'*/ DROP TABLE t; /*", "*/"} {
		if got := WithTraceparent("SELECT 1", bad); got != "SELECT 1" {
			t.Errorf("WithTraceparent(%q) = %q, want the statement unchanged", bad, got)
		}
	}
}
