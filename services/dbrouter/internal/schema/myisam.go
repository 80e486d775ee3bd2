package schema

import "github.com/altus4/altus/pkg/ftquery"

// myisamBuiltinStopwords returns the server's compiled-in MyISAM stopword
// list (what @@ft_stopword_file = "(built-in)" means), lower-cased. The
// server exposes no view of it; pkg/ftquery carries a copy of its source.
func myisamBuiltinStopwords() []string { return normalizeWords(ftquery.MyISAMBuiltinStopwords) }
