package schema

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Server flavors.
const (
	FlavorMariaDB = "mariadb"
	FlavorMySQL   = "mysql"
)

// How a server limits the run time of one statement.
const (
	// TimeLimitMaxStatementTime is MariaDB's (10.1+):
	// SET STATEMENT max_statement_time=<seconds> FOR <statement>.
	TimeLimitMaxStatementTime = "max_statement_time"
	// TimeLimitMaxExecutionTime is MySQL's (5.7.8+): the optimizer hint
	// SELECT /*+ MAX_EXECUTION_TIME(<ms>) */.
	TimeLimitMaxExecutionTime = "max_execution_time"
)

// builtinStopwordFile is what @@ft_stopword_file says when MyISAM uses the
// server's compiled-in list.
const builtinStopwordFile = "(built-in)"

// InnoDBDefaultStopwords is the server's compiled-in InnoDB stopword list
// (what INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD shows, identical in
// MySQL and MariaDB). It is used when that table cannot be read (MySQL
// wants the PROCESS privilege for it).
var InnoDBDefaultStopwords = []string{
	"a", "about", "an", "are", "as", "at", "be", "by", "com", "de", "en", "for", "from", "how", "i", "in", "is",
	"it", "la", "of", "on", "or", "that", "the", "this", "to", "was", "what", "when", "where", "who", "will",
	"with", "und", "the", "www",
}

// Server is what full-text search depends on in one server: its version
// and flavor, token sizes and stopwords per engine, and how a statement's
// run time can be limited. It is read once per pool and cached with the
// schema, never per request.
type Server struct {
	// Version is VERSION(), e.g. "10.11.19-MariaDB".
	Version string
	// Flavor is FlavorMariaDB or FlavorMySQL.
	Flavor string
	// InnoDBMinTokenSize and InnoDBMaxTokenSize bound the words InnoDB indexes.
	InnoDBMinTokenSize, InnoDBMaxTokenSize int
	// MyISAMMinWordLen and MyISAMMaxWordLen bound the words MyISAM/Aria index.
	MyISAMMinWordLen, MyISAMMaxWordLen int
	// InnoDBStopwordsEnabled is @@innodb_ft_enable_stopword.
	InnoDBStopwordsEnabled bool
	// InnoDBStopwords are the InnoDB stopwords in effect, lower-cased: the
	// default list, or the `value` column of @@innodb_ft_server_stopword_table.
	InnoDBStopwords []string
	// InnoDBStopwordTable is @@innodb_ft_server_stopword_table ("" when unset).
	InnoDBStopwordTable string
	// MyISAMStopwords are the MyISAM stopwords in effect, lower-cased: the
	// server's built-in list, or none when @@ft_stopword_file is empty.
	MyISAMStopwords []string
	// MyISAMStopwordFile is @@ft_stopword_file when it is not the built-in
	// list: the file is on the server and cannot be read from here, so
	// MyISAMStopwords is then empty.
	MyISAMStopwordFile string
	// StatementTimeLimit is TimeLimitMaxStatementTime,
	// TimeLimitMaxExecutionTime or "" (the server cannot limit a statement).
	StatementTimeLimit string
	// WindowFunctions is true when the server has window functions
	// (MariaDB 10.2+, MySQL 8.0+), so a search can count its matches in
	// the same statement (COUNT(*) OVER ()).
	WindowFunctions bool
	// Notes say what could not be read and what was assumed instead, for logs.
	Notes []string
}

const serverQuery = `SELECT VERSION(), @@version_comment,
@@innodb_ft_min_token_size, @@innodb_ft_max_token_size, @@ft_min_word_len, @@ft_max_word_len,
@@innodb_ft_enable_stopword, @@innodb_ft_server_stopword_table, @@ft_stopword_file`

const innodbDefaultStopwordsQuery = `SELECT value FROM INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD`

// ReadServer reads the full-text facts of the server behind q.
func ReadServer(ctx context.Context, q Querier) (Server, error) {
	rows, err := q.QueryContext(ctx, serverQuery)
	if err != nil {
		return Server{}, fmt.Errorf("schema: read server settings: %w", err)
	}
	var s Server
	var comment, stopwordTable, stopwordFile sql.NullString
	var enable sql.NullInt64
	found := false
	for rows.Next() {
		found = true
		if err := rows.Scan(&s.Version, &comment, &s.InnoDBMinTokenSize, &s.InnoDBMaxTokenSize,
			&s.MyISAMMinWordLen, &s.MyISAMMaxWordLen, &enable, &stopwordTable, &stopwordFile); err != nil {
			rows.Close()
			return Server{}, fmt.Errorf("schema: read server settings: %w", err)
		}
	}
	if err := closeRows(rows); err != nil {
		return Server{}, fmt.Errorf("schema: read server settings: %w", err)
	}
	if !found {
		return Server{}, fmt.Errorf("schema: read server settings: no row")
	}
	s.Flavor = Flavor(s.Version, comment.String)
	s.StatementTimeLimit = StatementTimeLimit(s.Flavor, s.Version)
	s.WindowFunctions = WindowFunctions(s.Flavor, s.Version)
	s.InnoDBStopwordsEnabled = enable.Int64 != 0
	s.InnoDBStopwordTable = stopwordTable.String

	if s.InnoDBStopwordTable != "" {
		db, table, ok := strings.Cut(s.InnoDBStopwordTable, "/")
		words, err := []string(nil), fmt.Errorf("not of the form database/table")
		if ok {
			// The names come from the server's own setting; quoted all the same.
			words, err = readWords(ctx, q, "SELECT value FROM "+QuoteIdent(db)+"."+QuoteIdent(table))
		}
		if err != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("could not read the InnoDB stopword table %q (%v): InnoDB stopwords reported as none", s.InnoDBStopwordTable, err))
		}
		s.InnoDBStopwords = words
	} else {
		words, err := readWords(ctx, q, innodbDefaultStopwordsQuery)
		if err != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("could not read INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD (%v): assuming the compiled-in default list", err))
			words = normalizeWords(InnoDBDefaultStopwords)
		}
		s.InnoDBStopwords = words
	}

	switch f := stopwordFile.String; f {
	case builtinStopwordFile:
		s.MyISAMStopwords = myisamBuiltinStopwords()
	case "":
		// An empty ft_stopword_file turns MyISAM stopwords off.
	default:
		s.MyISAMStopwordFile = f
		s.Notes = append(s.Notes, fmt.Sprintf("MyISAM stopwords come from the file %q on the server, which cannot be read remotely: MyISAM stopwords reported as none", f))
	}
	return s, nil
}

func readWords(ctx context.Context, q Querier, query string) ([]string, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	var words []string
	for rows.Next() {
		var w sql.NullString
		if err := rows.Scan(&w); err != nil {
			rows.Close()
			return nil, err
		}
		if w.Valid {
			words = append(words, w.String)
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	return normalizeWords(words), nil
}

// normalizeWords lower-cases words and drops duplicates and empty ones,
// keeping the first occurrence's order.
func normalizeWords(words []string) []string {
	seen := make(map[string]bool, len(words))
	out := make([]string, 0, len(words))
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// Flavor tells MariaDB from MySQL by VERSION() and @@version_comment.
func Flavor(version, comment string) string {
	if strings.Contains(strings.ToLower(version), "mariadb") || strings.Contains(strings.ToLower(comment), "mariadb") {
		return FlavorMariaDB
	}
	return FlavorMySQL
}

// StatementTimeLimit says how a server of flavor and version limits one
// statement's run time: max_statement_time for MariaDB 10.1 and later,
// max_execution_time for MySQL 5.7.8 and later, "" otherwise.
func StatementTimeLimit(flavor, version string) string {
	v, ok := parseVersion(version)
	if !ok {
		return ""
	}
	switch {
	case flavor == FlavorMariaDB && !v.less(semver{10, 1, 0}):
		return TimeLimitMaxStatementTime
	case flavor == FlavorMySQL && !v.less(semver{5, 7, 8}):
		return TimeLimitMaxExecutionTime
	}
	return ""
}

// WindowFunctions reports whether a server of flavor and version has
// window functions: MariaDB 10.2 and later, MySQL 8.0 and later.
func WindowFunctions(flavor, version string) bool {
	v, ok := parseVersion(version)
	if !ok {
		return false
	}
	if flavor == FlavorMariaDB {
		return !v.less(semver{10, 2, 0})
	}
	return !v.less(semver{8, 0, 0})
}

type semver [3]int

func (a semver) less(b semver) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// parseVersion reads the leading x.y.z of a version string; MariaDB's
// replication-compatibility prefix "5.5.5-" is skipped.
func parseVersion(s string) (semver, bool) {
	s = strings.TrimPrefix(s, "5.5.5-")
	end := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end >= 0 {
		s = s[:end]
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return semver{}, false
	}
	var v semver
	for i := 0; i < len(parts) && i < 3; i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return semver{}, false
		}
		v[i] = n
	}
	return v, true
}

// QuoteIdent quotes a MySQL identifier with backticks, doubling any
// backtick inside it.
func QuoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
