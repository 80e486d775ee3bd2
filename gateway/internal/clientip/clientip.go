// Package clientip finds the address of the client behind a request: the
// peer address, or — when the peer is a trusted proxy — the right-most
// address in X-Forwarded-For that is not itself a trusted proxy.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver knows which proxies to believe.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver trusting the given networks.
func New(trusted []netip.Prefix) *Resolver { return &Resolver{trusted: trusted} }

func (r *Resolver) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of returns the client address of req.
func (r *Resolver) Of(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if !r.isTrusted(peer) {
		return peer.Unmap().String()
	}
	hops := strings.Split(strings.Join(req.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !r.isTrusted(a) {
			return a.Unmap().String()
		}
	}
	return peer.Unmap().String()
}
