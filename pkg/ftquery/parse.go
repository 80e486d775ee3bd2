package ftquery

// Query is parsed user text. Parsing never fails on content: any Unicode,
// any operator soup gives a Query; what the parser had to repair or ignore
// is listed by Problems.
type Query struct {
	problems []string
}

// Parse parses user text in the Altus v1 boolean syntax.
func Parse(text string) *Query {
	return &Query{}
}

// Problems lists syntax the parser repaired or ignored (e.g. an unbalanced
// parenthesis), as sentences for people.
func (q *Query) Problems() []string { return q.problems }

// Compile renders the AGAINST text of q for one index with rules r.
// It returns an error wrapping ErrNothingSearchable when no positive term
// survives the rules.
func (q *Query) Compile(mode Mode, r Rules) (Compiled, error) {
	return Compiled{Mode: mode}, ErrNothingSearchable // TODO
}
