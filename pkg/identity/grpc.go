package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// AssertionTTL is how long an assertion minted for a request stays valid.
const AssertionTTL = 5 * time.Minute

// Authenticator turns a bearer credential (session token or API key) into a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (Principal, error)
}

// ErrNoCredentials means a request carried neither an assertion nor a bearer credential.
var ErrNoCredentials = errors.New("identity: no credentials")

// Resolve finds who the incoming request acts for: a signed assertion in
// metadata, or else a bearer credential in the "authorization" metadata,
// checked by auth (nil: assertions only). A request with neither returns
// ctx unchanged and no error; handlers that need a caller call Require.
func Resolve(ctx context.Context, signer *Signer, auth Authenticator) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if vals := md.Get(MetadataKey); len(vals) > 0 {
		p, err := signer.Verify(vals[0])
		if err != nil {
			return ctx, err
		}
		return With(ctx, p, vals[0]), nil
	}
	if auth == nil {
		return ctx, nil
	}
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return ctx, nil
	}
	scheme, bearer, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || bearer == "" {
		return ctx, ErrMalformed
	}
	bearer = strings.TrimSpace(bearer)
	p, err := auth.Authenticate(ctx, bearer)
	if err != nil {
		return ctx, err
	}
	sum := sha256.Sum256([]byte(bearer))
	return With(ctx, p, signer.SignFor(string(sum[:]), p, AssertionTTL)), nil
}

// UnaryClientInterceptor forwards the assertion carried by the context on
// every outgoing call, so that the callee acts for the same caller.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if a := Assertion(ctx); a != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, MetadataKey, a)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}
