package schema

// myisamBuiltinStopwords returns the server's compiled-in MyISAM stopword
// list (what @@ft_stopword_file = "(built-in)" means), lower-cased.
//
// TODO(ftquery): return normalizeWords(ftquery.MyISAMBuiltinStopwords) once
// pkg/ftquery exports that list; until then MyISAM stopwords are reported
// as none, so a MyISAM query made only of stopwords is not explained.
func myisamBuiltinStopwords() []string { return nil }
