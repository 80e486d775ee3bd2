// Package validate collects the problems of a request so that the caller gets
// all of them at once, each naming its field, instead of the first one only.
package validate

import (
	"fmt"
	"strings"
)

// Violation is one problem with one field.
type Violation struct {
	// Field is the request field, as the client names it (e.g. "email").
	Field string
	// Code is a machine-readable code, e.g. "REQUIRED", "TOO_SHORT".
	Code string
	// Message says what is wrong in words a person can act on.
	Message string
}

// Error is a failed validation. It is returned by domain code and mapped to
// INVALID_ARGUMENT / VALIDATION_ERROR by the adapters.
type Error struct {
	Violations []Violation
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Message
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// Collector accumulates violations.
type Collector struct {
	violations []Violation
}

// Add records a violation.
func (c *Collector) Add(field, code, format string, args ...any) {
	c.violations = append(c.violations, Violation{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Check records a violation when ok is false and reports ok.
func (c *Collector) Check(ok bool, field, code, format string, args ...any) bool {
	if !ok {
		c.Add(field, code, format, args...)
	}
	return ok
}

// Has reports whether field already has a violation.
func (c *Collector) Has(field string) bool {
	for _, v := range c.violations {
		if v.Field == field {
			return true
		}
	}
	return false
}

// Err returns an *Error holding every violation, or nil when there is none.
func (c *Collector) Err() error {
	if len(c.violations) == 0 {
		return nil
	}
	return &Error{Violations: append([]Violation(nil), c.violations...)}
}

// Field returns an *Error with a single violation.
func Field(field, code, format string, args ...any) error {
	var c Collector
	c.Add(field, code, format, args...)
	return c.Err()
}
