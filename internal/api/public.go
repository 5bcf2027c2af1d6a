package api

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/ratelimit"
)

// WithPublicRateLimit limits each client's requests to the public routes
// (except health and the OpenAPI file, which load balancers poll) with l,
// keyed by client address: an IPv4 address, or the /64 of an IPv6 one. A
// client is the peer of the connection unless the peer is in trusted, a
// proxy: then it is the last address in X-Forwarded-For that is not.
func WithPublicRateLimit(l *ratelimit.Limiter, trusted []netip.Prefix) Option {
	return func(s *Server) { s.publicLimit, s.trustedProxies = l, trusted }
}

// limitPublic refuses the request with rate_limited, and a Retry-After
// header in whole seconds, when its client has used up its budget.
func (s *Server) limitPublic(c *call) error {
	if s.publicLimit == nil {
		return nil
	}
	ok, wait := s.publicLimit.Allow(clientKey(s.clientAddr(c.r)))
	if ok {
		return nil
	}
	secs := max(1, int64((wait+time.Second-1)/time.Second))
	c.w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return fault.New(fault.RateLimited, "too many requests from this client; retry after %d s", secs)
}

// clientAddr is the address of the request's client: the peer, or for a
// trusted proxy the address it forwards for. It keeps the peer's port, as
// audit records show it, when there is no proxy.
func (s *Server) clientAddr(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !s.trusted(peer.Addr()) {
		return r.RemoteAddr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.Unmap().String()
		}
	}
	return r.RemoteAddr
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientKey is what clients are told apart by: the address of addr
// (host or host:port) without its port, and for IPv6 its /64, since one
// host commonly holds a whole /64.
func clientKey(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if a = a.Unmap(); a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
