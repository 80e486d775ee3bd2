// Package rrf holds what the search service and dbrouter must agree on to
// fuse rankings alike (reciprocal rank fusion): the score one list gives a
// row, and the order of primary keys that breaks ties. dbrouter reads the
// rows of a page of the fusion the search service asks for, so the two
// computing that order differently would read the wrong rows.
package rrf

import (
	"cmp"
	"strconv"
)

// K is the usual k of the fusion: 60, the value of the original paper and
// of most engines.
const K = 60

// Term is the score a list gives the row at 0-based position pos:
// 1/(k + rank), rank being pos+1. A row's score is the sum of its terms,
// added in list order (so that equal inputs give equal floats).
func Term(k, pos int) float64 { return 1 / float64(k+pos+1) }

// Value is one primary key value as ties are broken: integers as numbers,
// others as text.
type Value struct {
	Int   int64
	IsInt bool
	Str   string
}

// KeyValue reads a primary key value as plans return it: of an integer
// column (integer) it is a number when it parses as an int64 (an unsigned
// BIGINT past it stays text), else text.
func KeyValue(v string, integer bool) Value {
	if integer {
		if x, err := strconv.ParseInt(v, 10, 64); err == nil {
			return Value{Int: x, IsInt: true}
		}
	}
	return Value{Str: v}
}

// Text is the value as text.
func (v Value) Text() string {
	if v.IsInt {
		return strconv.FormatInt(v.Int, 10)
	}
	return v.Str
}

// Compare orders primary keys value by value: two integers as numbers,
// anything else as text; a shorter key that is a prefix comes first.
func Compare(a, b []Value) int {
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		var c int
		if x.IsInt && y.IsInt {
			c = cmp.Compare(x.Int, y.Int)
		} else {
			c = cmp.Compare(x.Text(), y.Text())
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}
