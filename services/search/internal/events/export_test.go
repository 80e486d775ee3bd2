package events

import "time"

// Query is one read statement of the store with its arguments.
type Query struct {
	SQL  string
	Args func(user string, since time.Time) []any
}

// Queries returns the store's read statements, for EXPLAIN in tests.
func Queries() map[string]Query {
	return map[string]Query{
		"history": {historyQuery, func(u string, _ time.Time) []any { return []any{u, 20, 0} }},
		"trends":  {dayQueriesQuery, func(u string, since time.Time) []any { return []any{u, since.UTC(), maxDayQueries} }},
		"popular": {popularQuery, func(u string, since time.Time) []any { return []any{u, since.UTC(), likePrefix("query"), 5} }},
	}
}
