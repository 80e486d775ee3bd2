// Package requestid carries the id of the request being served through a
// context, so that logs, responses and downstream calls can name it.
package requestid

import (
	"context"
	"regexp"

	"github.com/google/uuid"
)

// Header is the HTTP header that carries the request id.
const Header = "X-Request-ID"

// MetadataKey is the gRPC metadata key that carries the request id.
const MetadataKey = "x-request-id"

type ctxKey struct{}

var sane = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,128}$`)

// New returns a fresh random request id.
func New() string { return uuid.NewString() }

// Sanitize returns id when it is a sane token (1-128 characters of letters,
// digits, '.', '_', ':' and '-') and a fresh id otherwise, so that a client
// cannot inject log lines or oversized headers through it.
func Sanitize(id string) string {
	if sane.MatchString(id) {
		return id
	}
	return New()
}

// With returns a context that carries id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the request id carried by ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}
