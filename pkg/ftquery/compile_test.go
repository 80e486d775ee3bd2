package ftquery

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// innodbDefaultStopwords is INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD of
// MariaDB 10.11 (TestServerRulesMatchTheFixtures checks it).
var innodbDefaultStopwords = []string{"a", "about", "an", "are", "as", "at", "be", "by", "com", "de",
	"en", "for", "from", "how", "i", "in", "is", "it", "la", "of", "on", "or", "that", "the", "this",
	"to", "was", "what", "when", "where", "who", "will", "with", "und", "www"}

var (
	innodbRules = InnoDBRules(3, 84, innodbDefaultStopwords)
	myisamRules = MyISAMRules(4, 84, MyISAMBuiltinStopwords)
)

func TestCompileRendersEachModeForTheIndexRules(t *testing.T) {
	long84 := "w" + strings.Repeat("x", 83)
	long85 := long84 + "x"
	tests := []struct {
		name    string
		in      string
		mode    Mode
		rules   Rules
		want    string
		ignored []Ignored
		terms   []Term
	}{
		{"required stopword dropped", "database the", ModeBoolean, innodbRules, "+database",
			[]Ignored{{"the", ReasonStopword}}, []Term{{Words: []string{"database"}}}},
		{"natural drops stopwords", "database the", ModeNatural, innodbRules, "database",
			[]Ignored{{"the", ReasonStopword}}, []Term{{Words: []string{"database"}}}},
		{"expansion is natural text", "tune the database", ModeExpansion, innodbRules, "tune database",
			[]Ignored{{"the", ReasonStopword}}, []Term{{Words: []string{"tune"}}, {Words: []string{"database"}}}},
		{"phrase keeps its stopwords", `"the database" server`, ModeBoolean, innodbRules, `+"the database" +server`,
			nil, []Term{{Words: []string{"the", "database"}}, {Words: []string{"server"}}}},
		{"phrase of stopwords dropped (InnoDB: not is indexed)", `"to be or not to be" server`, ModeBoolean, innodbRules,
			`+"to be or not to be" +server`, nil,
			[]Term{{Words: []string{"to", "be", "or", "not", "to", "be"}}, {Words: []string{"server"}}}},
		{"phrase of stopwords dropped (MyISAM)", `"to be or not to be" server`, ModeBoolean, myisamRules, "+server",
			[]Ignored{{"to", ReasonStopword}, {"be", ReasonStopword}, {"or", ReasonStopword}, {"not", ReasonStopword}},
			[]Term{{Words: []string{"server"}}}},
		{"natural mode phrase words", `"tune the database"`, ModeNatural, innodbRules, "tune database",
			[]Ignored{{"the", ReasonStopword}}, []Term{{Words: []string{"tune"}}, {Words: []string{"database"}}}},
		{"short prefix kept, short word dropped", "ab* db", ModeBoolean, innodbRules, "+ab*",
			[]Ignored{{"db", ReasonTooShort}}, []Term{{Words: []string{"ab"}, Prefix: true}}},
		{"stopword prefix kept", "the* database", ModeBoolean, innodbRules, "+the* +database", nil,
			[]Term{{Words: []string{"the"}, Prefix: true}, {Words: []string{"database"}}}},
		{"natural prefix is its stem", "data* tun*", ModeNatural, innodbRules, "data tun", nil,
			[]Term{{Words: []string{"data"}}, {Words: []string{"tun"}}}},
		{"InnoDB indexes 84 characters", long84 + " " + long85 + " alpha", ModeBoolean, innodbRules, "+" + long84 + " +alpha",
			[]Ignored{{long85, ReasonTooLong}}, []Term{{Words: []string{long84}}, {Words: []string{"alpha"}}}},
		{"MyISAM indexes 83 characters", long84 + " alpha", ModeBoolean, myisamRules, "+alpha",
			[]Ignored{{long84, ReasonTooLong}}, []Term{{Words: []string{"alpha"}}}},
		{"too-long prefix dropped", long85 + "* alpha", ModeBoolean, innodbRules, "+alpha",
			[]Ignored{{long85 + "*", ReasonTooLong}}, []Term{{Words: []string{"alpha"}}}},
		{"excluded stopword dropped", "-the database", ModeBoolean, innodbRules, "+database",
			[]Ignored{{"-the", ReasonStopword}}, []Term{{Words: []string{"database"}}}},
		{"exclusions mean nothing in natural mode", "mysql -redis", ModeNatural, innodbRules, "mysql",
			[]Ignored{{"-redis", ReasonNotInMode}}, []Term{{Words: []string{"mysql"}}}},
		{"exclusions are not highlighted", "mysql -redis NOT cache*", ModeBoolean, innodbRules, "+mysql -redis -cache*",
			nil, []Term{{Words: []string{"mysql"}}}},
		{"stopwords compare like the collation", "thé THE database", ModeBoolean, innodbRules, "+database",
			[]Ignored{{"thé", ReasonStopword}, {"THE", ReasonStopword}}, []Term{{Words: []string{"database"}}}},
		{"OR group loses a stopword", "(the OR redis) cache", ModeBoolean, innodbRules, "+redis +cache",
			[]Ignored{{"the", ReasonStopword}}, []Term{{Words: []string{"redis"}}, {Words: []string{"cache"}}}},
		{"MyISAM minimum is 4", "redis db go cache", ModeBoolean, myisamRules, "+redis +cache",
			[]Ignored{{"db", ReasonTooShort}, {"go", ReasonStopword}}, []Term{{Words: []string{"redis"}}, {Words: []string{"cache"}}}},
		{"duplicate terms highlighted once", "café CAFE Cafe", ModeBoolean, innodbRules, "+café +CAFE +Cafe",
			nil, []Term{{Words: []string{"café"}}}},
		{"word case is kept", "MariaDB", ModeNatural, innodbRules, "MariaDB", nil, []Term{{Words: []string{"MariaDB"}}}},
		{"CJK shorter than the minimum", "東京 タワー", ModeBoolean, innodbRules, "+タワー",
			[]Ignored{{"東京", ReasonTooShort}}, []Term{{Words: []string{"タワー"}}}},
		{"no rules keep everything", "a the db", ModeBoolean, Rules{}, "+a +the +db", nil,
			[]Term{{Words: []string{"a"}}, {Words: []string{"the"}}, {Words: []string{"db"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in).Compile(tt.mode, tt.rules)
			if err != nil {
				t.Fatalf("Compile(%q, %s): %v", tt.in, tt.mode, err)
			}
			want := Compiled{Against: tt.want, Mode: tt.mode, Ignored: tt.ignored, Terms: tt.terms}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Compile(%q, %s) (-want +got):\n%s", tt.in, tt.mode, diff)
			}
		})
	}
}

func TestCompileReportsNothingSearchable(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		mode  Mode
		rules Rules
		want  NothingSearchableError
	}{
		{"stopwords and short words", "the an db", ModeBoolean, innodbRules, NothingSearchableError{
			Mode: ModeBoolean, MinTokenLen: 3, MaxTokenLen: 84,
			Ignored: []Ignored{{"the", ReasonStopword}, {"an", ReasonStopword}, {"db", ReasonTooShort}},
		}},
		{"stopwords in natural mode", "the an db", ModeNatural, innodbRules, NothingSearchableError{
			Mode: ModeNatural, MinTokenLen: 3, MaxTokenLen: 84,
			Ignored: []Ignored{{"the", ReasonStopword}, {"an", ReasonStopword}, {"db", ReasonTooShort}},
		}},
		{"MyISAM stopwords", "about these", ModeBoolean, myisamRules, NothingSearchableError{
			Mode: ModeBoolean, MinTokenLen: 4, MaxTokenLen: 83,
			Ignored: []Ignored{{"about", ReasonStopword}, {"these", ReasonStopword}},
		}},
		{"only exclusions", "-database NOT redis", ModeBoolean, innodbRules, NothingSearchableError{
			Mode: ModeBoolean, MinTokenLen: 3, MaxTokenLen: 84, OnlyExclusions: true,
		}},
		{"only exclusions left", "the -database", ModeBoolean, innodbRules, NothingSearchableError{
			Mode: ModeBoolean, MinTokenLen: 3, MaxTokenLen: 84, OnlyExclusions: true,
			Ignored: []Ignored{{"the", ReasonStopword}},
		}},
		{"only exclusions in natural mode", "-database", ModeNatural, innodbRules, NothingSearchableError{
			Mode: ModeNatural, MinTokenLen: 3, MaxTokenLen: 84, OnlyExclusions: true,
			Ignored: []Ignored{{"-database", ReasonNotInMode}},
		}},
		{"no words", `🎉 *** " ()`, ModeBoolean, innodbRules, NothingSearchableError{
			Mode: ModeBoolean, MinTokenLen: 3, MaxTokenLen: 84, NoWords: true,
		}},
		{"empty text", "", ModeExpansion, innodbRules, NothingSearchableError{
			Mode: ModeExpansion, MinTokenLen: 3, MaxTokenLen: 84, NoWords: true,
		}},
		{"phrase of stopwords and short words", `"the of xy"`, ModeBoolean, innodbRules, NothingSearchableError{
			Mode: ModeBoolean, MinTokenLen: 3, MaxTokenLen: 84,
			Ignored: []Ignored{{"the", ReasonStopword}, {"of", ReasonStopword}, {"xy", ReasonTooShort}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in).Compile(tt.mode, tt.rules)
			if !errors.Is(err, ErrNothingSearchable) {
				t.Fatalf("Compile(%q) = %q, %v; want ErrNothingSearchable", tt.in, got.Against, err)
			}
			var nse *NothingSearchableError
			if !errors.As(err, &nse) {
				t.Fatalf("error %T is not a *NothingSearchableError", err)
			}
			if diff := cmp.Diff(tt.want, *nse, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if got.Against != "" {
				t.Errorf("Against = %q with an error", got.Against)
			}
		})
	}
}

func TestNothingSearchableErrorNamesEveryDroppedTerm(t *testing.T) {
	_, err := Parse("the an db").Compile(ModeBoolean, innodbRules)
	msg := err.Error()
	for _, term := range []string{`"the"`, `"an"`, `"db"`, "3"} {
		if !strings.Contains(msg, term) {
			t.Errorf("message %q does not name %s", msg, term)
		}
	}
}

func TestCompileRejectsUnknownMode(t *testing.T) {
	_, err := Parse("database").Compile(Mode("semantic"), innodbRules)
	var ume *UnknownModeError
	if !errors.As(err, &ume) || ume.Mode != "semantic" {
		t.Fatalf("err = %v, want *UnknownModeError{semantic}", err)
	}
}

func TestCompileIsDeterministic(t *testing.T) {
	in := `(mysql OR mariadb OR "the database") -draft tun* café the an`
	q := Parse(in)
	first, _ := q.Compile(ModeBoolean, innodbRules)
	for i := 0; i < 200; i++ {
		// A fresh parse and a fresh (equal) stopword map each time.
		got, _ := Parse(in).Compile(ModeBoolean, InnoDBRules(3, 84, innodbDefaultStopwords))
		if diff := cmp.Diff(first, got); diff != "" {
			t.Fatalf("run %d differs (-first +got):\n%s", i, diff)
		}
	}
}

func TestMyISAMRulesExcludeTheMaximum(t *testing.T) {
	r := MyISAMRules(4, 84, nil)
	if r.MinTokenLen != 4 || r.MaxTokenLen != 83 || r.Stopwords != nil {
		t.Fatalf("MyISAMRules(4, 84, nil) = %+v", r)
	}
	if got := InnoDBRules(3, 84, nil); got.MaxTokenLen != 84 {
		t.Fatalf("InnoDBRules max = %d, want 84", got.MaxTokenLen)
	}
}
