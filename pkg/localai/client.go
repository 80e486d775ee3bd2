package localai

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
)

// DefaultLocalWindow is how long a Client answers Categorize itself after
// the enhance service said it has no provider.
const DefaultLocalWindow = 10 * time.Second

// ClientOptions configure a Client. Zero values take the defaults.
type ClientOptions struct {
	// LocalWindow is how long a not_configured answer is trusted
	// (default DefaultLocalWindow).
	LocalWindow time.Duration
	// Now is the clock of the window (default time.Now).
	Now func() time.Time
}

// Client is an enhance service client that answers Categorize in-process
// while the enhance service would answer it with Categorize of this
// package; every other call, and Categorize otherwise, goes to the service.
//
// A Categorize call puts a network hop, and the service's decoding and
// encoding, on a search's critical path: several times what the local
// method itself takes. An enhance service without a provider answers
// every Categorize with the local method (reason not_configured), so once
// it has said so the Client computes the same answer itself: the request
// is read, checked and answered by the same functions, with the same
// origin. Until the service has said so, every call goes to it.
//
// The Client trusts that answer for LocalWindow only: the first call
// after it asks the service again, so that a provider configured since,
// or a replica with one, is used within that time. Any other answer of
// the service (a provider's, or a fallback for another reason) or an
// error ends the window. A request the service would refuse is sent to it,
// to be refused as it would be.
type Client struct {
	enhancev1.EnhanceServiceClient
	window time.Duration
	now    func() time.Time
	// until is the end of the window, in Unix nanoseconds (0: none).
	until atomic.Int64
}

// NewClient returns a Client over an enhance service client.
func NewClient(c enhancev1.EnhanceServiceClient, o ClientOptions) *Client {
	if o.LocalWindow == 0 {
		o.LocalWindow = DefaultLocalWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{EnhanceServiceClient: c, window: o.LocalWindow, now: o.Now}
}

// Categorize answers in-process within the window, else asks the service.
func (c *Client) Categorize(ctx context.Context, req *enhancev1.CategorizeRequest, opts ...grpc.CallOption) (*enhancev1.CategorizeResponse, error) {
	if c.now().UnixNano() < c.until.Load() {
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		if resp, ok := answerLocally(req); ok {
			return resp, nil
		}
	}
	resp, err := c.EnhanceServiceClient.Categorize(ctx, req, opts...)
	if err == nil && resp.GetOrigin().GetSource() == SourceFallback && resp.GetOrigin().GetReason() == ReasonNotConfigured {
		c.until.Store(c.now().Add(c.window).UnixNano())
	} else {
		c.until.Store(0)
	}
	return resp, err
}

// answerLocally is the enhance service's answer to req without a
// provider, or false for a request it would refuse.
func answerLocally(req *enhancev1.CategorizeRequest) (*enhancev1.CategorizeResponse, bool) {
	start := time.Now()
	r := CategorizeRequestFromProto(req)
	if r.Validate() != nil {
		return nil, false
	}
	docs := Categorize(r)
	origin := &enhancev1.Origin{Source: SourceFallback, Reason: ReasonNotConfigured, ElapsedMs: float64(time.Since(start)) / float64(time.Millisecond)}
	return CategorizeResponseProto(docs, Aggregate(docs), origin), true
}
