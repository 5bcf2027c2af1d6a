package api

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/fault"
)

// scope says who may call a route. The zero value is invalid, so a route
// declared without a scope cannot be registered.
type scope int

const (
	_ scope = iota
	// scopePublic routes need no token (health, init, unseal).
	scopePublic
	// scopeSelf routes need any valid token and act on that token only.
	scopeSelf
	// scopeSystem routes need the root token.
	scopeSystem
	// scopeTenant routes act in one tenant and are decided by its policies.
	scopeTenant
)

// route declares one endpoint.
type route struct {
	method, pattern string
	op              string // operation name, for policies and audit
	scope           scope
	object          string // path wildcard naming the object, if any
	sealed          bool   // served while sealed
	unaudited       bool   // polled by load balancers; carries no tenant data
	// bodyObject routes name their object in the body; the handler must
	// call Server.authorize once it has decoded it, or the request fails.
	bodyObject bool
	// stream routes take an application/octet-stream body of any size,
	// which the handler reads as a stream; JSON bodies keep the limit.
	stream bool
	handle func(*call) (any, error)
}

// call is one request as a handler sees it.
type call struct {
	ctx       context.Context
	w         http.ResponseWriter
	r         *http.Request
	id        string
	token     *authn.Token
	tenant    string
	object    string
	status    int  // success status; 200 when zero
	decided   bool // an authorisation decision was made
	sensitive map[string][]byte
}

// markSensitive records a field whose HMAC, not value, goes to audit.
func (c *call) markSensitive(name string, value []byte) {
	if c.sensitive == nil {
		c.sensitive = map[string][]byte{}
	}
	c.sensitive[name] = value
}

// raw is a handler result written as-is instead of as JSON.
type raw struct {
	contentType string
	body        []byte
	status      int
}

// stream is a handler result written by a function after the audit record
// is stored, for bodies too large to buffer.
type stream struct {
	contentType string
	write       func(io.Writer) error
}

func (s *Server) register(rt *route) {
	if rt.scope == 0 || rt.op == "" || rt.handle == nil {
		panic("api: route " + rt.method + " " + rt.pattern + " lacks an operation, scope or handler")
	}
	obs := s.metrics.observer(rt.method + " " + rt.pattern)
	s.mux.HandleFunc(rt.method+" "+rt.pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status := s.dispatch(rt, w, r)
		obs(status, time.Since(start))
	})
}

// dispatch runs one request through seal check, authentication,
// authorisation, the handler and audit, and writes the response. It
// returns the HTTP status for metrics.
func (s *Server) dispatch(rt *route, w http.ResponseWriter, r *http.Request) int {
	c := &call{ctx: r.Context(), w: w, r: r, id: s.newRequestID()}
	w.Header().Set("X-Request-Id", c.id)
	if rt.object != "" {
		c.object = r.PathValue(rt.object)
	}
	if !rt.stream || !isStream(r) {
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	}

	result, err := s.decideAndHandle(rt, c)
	status, code := http.StatusOK, ""
	if err != nil {
		code = string(fault.CodeOf(err))
		status = statusOf(fault.CodeOf(err))
	} else if c.status != 0 {
		status = c.status
	} else if rw, ok := result.(raw); ok && rw.status != 0 {
		status = rw.status
	}
	if !rt.unaudited {
		if aerr := s.auditor.Log(c.ctx, s.entry(rt, c, status, code)); aerr != nil {
			s.log.Error("audit write failed; refusing to answer", "request_id", c.id, "error", aerr)
			err = fault.Wrap(aerr, fault.AuditFailure, "the audit log is unavailable")
		}
	}
	if err != nil {
		return s.writeError(w, c.id, err)
	}
	switch res := result.(type) {
	case raw:
		w.Header().Set("Content-Type", res.contentType)
		w.WriteHeader(status)
		_, _ = w.Write(res.body)
	case stream:
		w.Header().Set("Content-Type", res.contentType)
		w.WriteHeader(status)
		if err := res.write(w); err != nil {
			s.log.Error("streaming a response failed", "request_id", c.id, "error", err)
		}
	default:
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return status
		}
		writeJSON(w, status, result)
	}
	return status
}

// decideAndHandle refuses the request unless its client is within its
// rate (public routes), the node may serve it and the token may perform
// the route's operation on its object, then runs the handler.
func (s *Server) decideAndHandle(rt *route, c *call) (any, error) {
	if limited(rt) {
		if err := s.limitPublic(c); err != nil {
			return nil, err
		}
	}
	if !rt.sealed && s.core.Sealed() {
		return nil, fault.New(fault.Sealed, "mima is sealed")
	}
	if rt.scope != scopePublic {
		if err := s.authenticate(c); err != nil {
			return nil, err
		}
	}
	switch rt.scope {
	case scopeSystem:
		if !c.token.Root {
			return nil, fault.New(fault.PermissionDenied, "only the root token may %s", rt.op)
		}
		c.decided = true
	case scopeTenant:
		if err := s.chooseTenant(c); err != nil {
			return nil, err
		}
		if !rt.bodyObject {
			if err := s.authorize(c, rt.op, c.object); err != nil {
				return nil, err
			}
		}
	default:
		c.decided = true
	}
	result, err := rt.handle(c)
	if err == nil && !c.decided {
		return nil, fault.New(fault.Internal, "route %s %s made no authorisation decision", rt.method, rt.pattern)
	}
	return result, err
}

// authorize decides whether the request's token may perform op on object
// in its tenant. Handlers of bodyObject routes call it for the object
// named in the body, and any handler for further objects it touches.
func (s *Server) authorize(c *call, op, object string) error {
	if err := s.auth.Authorize(c.ctx, c.token, c.tenant, op, object); err != nil {
		return err
	}
	c.decided = true
	return nil
}

// isStream reports whether the request body is raw bytes to stream.
func isStream(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/octet-stream")
}

func (s *Server) authenticate(c *call) error {
	h := c.r.Header.Get("Authorization")
	bearer, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || bearer == "" {
		return fault.New(fault.Unauthenticated, "an Authorization: Bearer token is required")
	}
	tok, err := s.auth.Authenticate(c.ctx, bearer)
	if err != nil {
		return err
	}
	c.token = tok
	return nil
}

// chooseTenant sets the tenant a request acts in: the token's own, or for
// the root token the one named by the X-Mima-Tenant header (default:
// "default").
func (s *Server) chooseTenant(c *call) error {
	want := c.r.Header.Get(TenantHeader)
	if !c.token.Root {
		if want != "" && want != c.token.Tenant {
			return fault.New(fault.PermissionDenied, "token belongs to another tenant")
		}
		c.tenant = c.token.Tenant
		return nil
	}
	if want == "" {
		want = authn.DefaultTenant
	}
	if _, err := s.auth.Tenant(c.ctx, want); err != nil {
		return err
	}
	c.tenant = want
	return nil
}

func (s *Server) entry(rt *route, c *call, status int, code string) audit.Entry {
	e := audit.Entry{
		RequestID: c.id,
		Tenant:    c.tenant,
		Operation: rt.op,
		Object:    c.object,
		Status:    status,
		Code:      code,
		Remote:    s.clientAddr(c.r),
		Sensitive: c.sensitive,
	}
	if c.token != nil {
		e.Accessor = c.token.Accessor
	}
	return e
}
