package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/altus4/altus/gateway/internal/ratelimit"
	"github.com/altus4/altus/pkg/identity"
	rl "github.com/altus4/altus/pkg/ratelimit"
)

// earlyAdmission is a search started before the API key's rate-limit count
// answered, the count being made alongside: the count is a call to the
// cache service, and waiting for it before the search would add that call
// to every search the edge does not answer. Only a key whose last count
// left ratelimit.EarlyHeadroom requests in its window starts early
// (Limiter.MayStartEarly), so the count nearly always allows it. Nothing
// of the search reaches the client before the count has answered: its
// response goes through earlyWriter, which waits for the count, then
// writes the rate-limit headers and the search's answer, or, when the
// count refused it, the 429 instead (the search's context is cancelled as
// soon as the count refuses).
type earlyAdmission struct {
	g    *Gateway
	r    *http.Request
	tier string
	done chan struct{}
	d    ratelimit.Decision
}

// admitEarly starts counting a search of p and returns the context to run
// it in (cancelled if the count refuses it).
func (g *Gateway) admitEarly(ctx context.Context, r *http.Request, subject string, limit int, p identity.Principal, ip string) (context.Context, *earlyAdmission) {
	ectx, cancel := context.WithCancel(ctx)
	a := &earlyAdmission{g: g, r: r.WithContext(ectx), tier: p.Tier, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.d = g.limiter.Allow(ctx, subject, limit, rl.Window)
		if !a.d.Allowed {
			cancel()
			return
		}
		g.usage.Record(p.APIKeyID, ip, time.Now())
	}()
	return ectx, a
}

// writer returns the response writer the search answers through.
func (a *earlyAdmission) writer(w http.ResponseWriter) *earlyWriter {
	return &earlyWriter{w: w, a: a, header: http.Header{}}
}

// earlyWriter holds a response back until the count has answered. The
// handler's headers are kept apart until then, so a refused search leaves
// none on the 429.
type earlyWriter struct {
	w      http.ResponseWriter
	a      *earlyAdmission
	header http.Header
	state  earlyState
}

type earlyState int

const (
	undecided earlyState = iota
	admitted
	refused
)

func (e *earlyWriter) Header() http.Header {
	if e.state == admitted {
		return e.w.Header()
	}
	return e.header
}

func (e *earlyWriter) WriteHeader(code int) {
	if e.open() {
		e.w.WriteHeader(code)
	}
}

func (e *earlyWriter) Write(b []byte) (int, error) {
	if e.open() {
		return e.w.Write(b)
	}
	return len(b), nil
}

// Unwrap gives http.ResponseController the underlying writer.
func (e *earlyWriter) Unwrap() http.ResponseWriter { return e.w }

// open waits for the count once, then either lets the search's response
// through (with the rate-limit headers and the handler's headers) or
// writes the 429; it reports whether the search's response goes out.
// Called when the handler first writes, and after it returns (for a
// handler that wrote nothing).
func (e *earlyWriter) open() bool {
	if e.state != undecided {
		return e.state == admitted
	}
	<-e.a.done
	d := e.a.d
	setLimitHeaders(e.w, d, e.a.tier)
	if !d.Allowed {
		e.state = refused
		e.a.g.tooMany(e.w, e.a.r, d, e.a.tier)
		return false
	}
	e.state = admitted
	h := e.w.Header()
	for k, v := range e.header {
		h[k] = v
	}
	return true
}
