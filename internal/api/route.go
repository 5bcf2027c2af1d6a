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
	// scopeSelf routes need any valid token and act on that token only,
	// or tell what any token holder may know (the node's deployment).
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
	// fixedObject is the object of a route whose path names none
	// (POST /v1/tsa stamps with the TSA "default").
	fixedObject string
	// body declares every object that the JSON body names. The dispatcher
	// reads the body and decides on each before the handler runs, and the
	// handler's decode refuses an object field that is not declared here.
	body      []bodyObject
	sealed    bool // served while sealed
	unaudited bool // polled by load balancers; carries no tenant data
	// pure routes change no stored state: they are audited once, after the
	// handler, and their answer is withheld if that record fails. Every
	// other route is recorded before its handler acts. GET routes are
	// pure.
	pure bool
	// stream routes take an application/octet-stream body of any size,
	// which the handler reads as a stream; JSON bodies keep the limit.
	stream bool
	// cbor routes also take application/cbor bodies, and answer them in
	// CBOR. The dispatcher reads objects from JSON bodies only, so a cbor
	// route may not declare body objects (register refuses it); every
	// other route refuses CBOR bodies.
	cbor   bool
	handle func(*call) (any, error)
}

// bodyObject declares one object named by a field of a route's JSON body.
type bodyObject struct {
	// field is a top-level field of the body; in a batch request it is
	// read in every item of "batch" too.
	field string
	// op is the operation the caller needs on the object: the route's own
	// when empty, or sameRights, or refOnly.
	op string
	// main marks the field naming the route's object, when the path names
	// none; it is the object in the audit record.
	main bool
	// orPath: an absent field means the path object (a re-encryption
	// without to_key stays under the same key).
	orPath bool
}

// Special values of bodyObject.op.
const (
	// sameRights: the caller must hold on this object every operation that
	// it holds on the route's object (an alias may lead only to a key its
	// user could already use directly).
	sameRights = "=same-rights"
	// refOnly: the field refers to an object that the route only names
	// (a login rule restricted to one CA's certificates) and needs no
	// right on it.
	refOnly = "=reference"
)

// call is one request as a handler sees it.
type call struct {
	ctx       context.Context
	w         http.ResponseWriter
	r         *http.Request
	id        string
	token     *authn.Token
	tenant    string
	object    string
	status    int // success status; 200 when zero
	sensitive map[string][]byte
	// named holds, by body field, the objects the dispatcher decided on;
	// decode refuses any other object field.
	named   map[string][]string
	scope   scope
	pattern string
	cbor    bool // the body is CBOR, and so is the answer
	start   time.Time
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
	if rt.cbor && len(rt.body) > 0 {
		panic("api: route " + rt.method + " " + rt.pattern + " takes CBOR bodies but declares body objects, which are read from JSON only")
	}
	if rt.method == http.MethodGet {
		rt.pure = true
	}
	obs := s.metrics.observer(rt.method + " " + rt.pattern)
	s.mux.HandleFunc(rt.method+" "+rt.pattern, func(w http.ResponseWriter, r *http.Request) {
		c := &call{ctx: r.Context(), w: w, r: r, id: s.newRequestID(), scope: rt.scope, pattern: rt.pattern,
			cbor: rt.cbor && isCBOR(r), start: time.Now()}
		status := s.dispatch(rt, c)
		obs(status, time.Since(c.start))
	})
}

// meter counts the request in its tenant's usage before its answer is
// written, so that a client holding the answer finds it counted.
func (s *Server) meter(rt *route, c *call, status int) {
	if c.tenant != "" {
		s.usage.Record(c.tenant, rt.op, meteredKey(rt, c, status), status >= 400, time.Since(c.start))
	}
}

// meteredKey is the key a call is metered under: the object of the key
// routes (in the path or, for create and restore, the body), none for the
// others. Failed calls are metered under no key, so that names a caller
// makes up cannot grow the meter.
func meteredKey(rt *route, c *call, status int) string {
	if status < 400 && strings.HasPrefix(rt.pattern, "/v1/keys") {
		return c.object
	}
	return ""
}

// dispatch runs one request through seal check, authentication,
// authorisation, audit and the handler, and writes the response. It
// returns the HTTP status for metrics.
//
// Every decision is made before the handler runs. A route that changes
// state is recorded before it acts: if that record cannot be written the
// request is refused having changed nothing, and its outcome is recorded
// after. A pure route is recorded once, after, and its answer is withheld
// when that record fails.
func (s *Server) dispatch(rt *route, c *call) int {
	w, r := c.w, c.r
	w.Header().Set("X-Request-Id", c.id)
	if rt.object != "" {
		c.object = r.PathValue(rt.object)
	}
	if c.object == "" {
		c.object = rt.fixedObject
	}
	if !rt.stream || !isStream(r) {
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	}

	var result any
	err := s.decide(rt, c)
	recorded := false
	if err == nil && !rt.pure && !rt.unaudited {
		// Status 0 in the record: accepted, the outcome follows.
		if aerr := s.auditor.Log(c.ctx, s.entry(rt, c, 0, "")); aerr != nil {
			err = s.auditFailed(c, aerr)
		} else {
			recorded = true
		}
	}
	if err == nil {
		result, err = rt.handle(c)
	}
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
		if aerr := s.auditor.Log(c.ctx, s.entry(rt, c, status, code)); aerr != nil && !recorded {
			err = s.auditFailed(c, aerr)
		} else if aerr != nil {
			// The request is on record and has acted; withholding its
			// answer would only invite a retry that acts twice.
			s.log.Error("audit: the outcome of a recorded request could not be written", "request_id", c.id, "error", aerr)
		}
	}
	if err != nil {
		s.meter(rt, c, statusOf(fault.CodeOf(err)))
		return s.writeError(w, c.id, err)
	}
	s.meter(rt, c, status)
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
		if c.cbor {
			writeCBOR(w, status, result)
		} else {
			writeJSON(w, status, result)
		}
	}
	return status
}

// auditFailed logs an audit write failure and returns the error the
// request fails with.
func (s *Server) auditFailed(c *call, err error) error {
	s.log.Error("audit write failed; refusing the request", "request_id", c.id, "error", err)
	return fault.Wrap(err, fault.AuditFailure, "the audit log is unavailable")
}

// decide refuses the request unless its client is within its rate (public
// routes), its body is of a type the route takes, the node may serve it
// and the token may perform the route's operation on every object the
// route declares.
func (s *Server) decide(rt *route, c *call) error {
	if limited(rt) {
		if err := s.limitPublic(c); err != nil {
			return err
		}
	}
	if !rt.cbor && isCBOR(c.r) {
		return fault.New(fault.UnsupportedMedia, "this endpoint takes JSON bodies; %s is taken by the batchable crypto endpoints", mediaCBOR)
	}
	if !rt.sealed && s.core.Sealed() {
		return fault.New(fault.Sealed, "mima is sealed")
	}
	if rt.scope != scopePublic {
		if err := s.authenticate(c); err != nil {
			return err
		}
	}
	switch rt.scope {
	case scopeSystem:
		if !c.token.Root {
			return fault.New(fault.PermissionDenied, "only the root token may %s", rt.op)
		}
	case scopeTenant:
		if err := s.chooseTenant(c); err != nil {
			return err
		}
		if err := s.decideObjects(rt, c); err != nil {
			return err
		}
		// A tenant's request then counts against its ops_per_sec quota.
		return s.limitTenant(c)
	}
	return nil
}

// decideObjects authorises the route's operation on its object and the
// declared operation on every object its body names.
func (s *Server) decideObjects(rt *route, c *call) error {
	named, err := bodyObjects(rt, c)
	if err != nil {
		return err
	}
	c.named = map[string][]string{}
	hasMain := false
	for _, n := range named {
		c.named[n.decl.field] = append(c.named[n.decl.field], n.value)
		if n.decl.main {
			hasMain = true
			c.object = n.value
		}
	}
	if !hasMain {
		if err := s.auth.Authorize(c.ctx, c.token, c.tenant, rt.op, c.object); err != nil {
			return err
		}
	}
	for _, n := range named {
		switch op := n.decl.op; op {
		case refOnly:
		case sameRights:
			if err := s.auth.AuthorizeSameRights(c.ctx, c.token, c.tenant, c.object, n.value); err != nil {
				return err
			}
		default:
			if op == "" {
				op = rt.op
			}
			if err := s.auth.Authorize(c.ctx, c.token, c.tenant, op, n.value); err != nil {
				return err
			}
		}
	}
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
