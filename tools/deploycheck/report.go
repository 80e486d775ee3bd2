package main

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Problem is one violated invariant: Code names the rule (stable, for
// tests), Where the object or file, Msg what is wrong.
type Problem struct {
	Code  string
	Where string
	Msg   string
}

// String formats p as "where: [code] message".
func (p Problem) String() string { return fmt.Sprintf("%s: [%s] %s", p.Where, p.Code, p.Msg) }

// Report collects problems and notes (skipped checks, external tools run).
type Report struct {
	Problems []Problem
	Notes    []string
}

// Addf records a problem.
func (r *Report) Addf(code, where, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Code: code, Where: where, Msg: fmt.Sprintf(format, args...)})
}

// Notef records a note.
func (r *Report) Notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Codes returns the sorted, distinct codes of the problems.
func (r *Report) Codes() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range r.Problems {
		if !seen[p.Code] {
			seen[p.Code] = true
			out = append(out, p.Code)
		}
	}
	sort.Strings(out)
	return out
}

// String lists every problem, one a line.
func (r *Report) String() string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
