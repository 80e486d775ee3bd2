package schema

import (
	"context"
	"slices"
	"testing"

	"github.com/altus4/altus/pkg/testenv"
)

func TestReadServerReportsTheServersFullTextFacts(t *testing.T) {
	db, _ := testenv.OpenDatabase(t)
	ctx := context.Background()
	var version, comment string
	var minTok, maxTok, minWord, maxWord int
	if err := db.QueryRowContext(ctx, "SELECT VERSION(), @@version_comment, @@innodb_ft_min_token_size, @@innodb_ft_max_token_size, @@ft_min_word_len, @@ft_max_word_len").
		Scan(&version, &comment, &minTok, &maxTok, &minWord, &maxWord); err != nil {
		t.Fatal(err)
	}
	got, err := ReadServer(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != version || got.Flavor != Flavor(version, comment) || got.StatementTimeLimit != StatementTimeLimit(got.Flavor, version) {
		t.Errorf("version/flavor/limit = %q %q %q", got.Version, got.Flavor, got.StatementTimeLimit)
	}
	if got.StatementTimeLimit == "" || !got.WindowFunctions {
		t.Errorf("the test server (%s) should support a statement time limit", version)
	}
	if got.InnoDBMinTokenSize != minTok || got.InnoDBMaxTokenSize != maxTok || got.MyISAMMinWordLen != minWord || got.MyISAMMaxWordLen != maxWord {
		t.Errorf("token sizes = %d..%d / %d..%d, want %d..%d / %d..%d", got.InnoDBMinTokenSize, got.InnoDBMaxTokenSize,
			got.MyISAMMinWordLen, got.MyISAMMaxWordLen, minTok, maxTok, minWord, maxWord)
	}
	// The test server runs with the default InnoDB list (no server stopword table).
	if !got.InnoDBStopwordsEnabled || !slices.Contains(got.InnoDBStopwords, "the") || !slices.Contains(got.InnoDBStopwords, "www") {
		t.Errorf("InnoDB stopwords = %v (enabled %v), want the default list", got.InnoDBStopwords, got.InnoDBStopwordsEnabled)
	}
	// And the built-in MyISAM list (ft_stopword_file = "(built-in)").
	if !slices.Contains(got.MyISAMStopwords, "about") || !slices.Contains(got.MyISAMStopwords, "would") {
		t.Errorf("MyISAM stopwords = %d words, want the built-in list", len(got.MyISAMStopwords))
	}
	if len(got.Notes) != 0 {
		t.Errorf("notes = %v", got.Notes)
	}
}

func TestStatementTimeLimitAndWindowFunctionsByFlavorAndVersion(t *testing.T) {
	tests := []struct {
		version, comment string
		wantFlavor       string
		wantLimit        string
		wantWindow       bool
	}{
		{"10.11.19-MariaDB-0+deb12u1", "Debian 12", FlavorMariaDB, TimeLimitMaxStatementTime, true},
		{"5.5.5-10.1.48-MariaDB", "", FlavorMariaDB, TimeLimitMaxStatementTime, false},
		{"10.2.44-MariaDB", "", FlavorMariaDB, TimeLimitMaxStatementTime, true},
		{"10.0.38-MariaDB", "", FlavorMariaDB, "", false},
		{"8.0.36", "MySQL Community Server - GPL", FlavorMySQL, TimeLimitMaxExecutionTime, true},
		{"5.7.8-log", "MySQL Community Server (GPL)", FlavorMySQL, TimeLimitMaxExecutionTime, false},
		{"5.7.7-rc", "MySQL Community Server (GPL)", FlavorMySQL, "", false},
		{"5.6.51", "", FlavorMySQL, "", false},
		{"11.4.2", "mariadb.org binary distribution", FlavorMariaDB, TimeLimitMaxStatementTime, true},
		{"garbage", "", FlavorMySQL, "", false},
	}
	for _, tt := range tests {
		flavor := Flavor(tt.version, tt.comment)
		if flavor != tt.wantFlavor {
			t.Errorf("Flavor(%q, %q) = %q, want %q", tt.version, tt.comment, flavor, tt.wantFlavor)
		}
		if got := StatementTimeLimit(flavor, tt.version); got != tt.wantLimit {
			t.Errorf("StatementTimeLimit(%q, %q) = %q, want %q", flavor, tt.version, got, tt.wantLimit)
		}
		if got := WindowFunctions(flavor, tt.version); got != tt.wantWindow {
			t.Errorf("WindowFunctions(%q, %q) = %v, want %v", flavor, tt.version, got, tt.wantWindow)
		}
	}
}
