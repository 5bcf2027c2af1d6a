// Package api is mima's HTTP interface: routing, authentication and
// authorisation, request ids, limits, error mapping, metrics and an audit
// record for every request. Handlers decode a request, call one service
// method and encode its answer; they never see key bytes.
//
// Every route is declared in a table (see route) with the operation it
// performs and how it is authorised; the dispatcher authenticates, decides
// and audits before any handler runs, so a route cannot be added without
// an authorisation decision.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/cms"
	"github.com/mimacrypto/mima/internal/dcas"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/pki"
	"github.com/mimacrypto/mima/internal/quota"
	"github.com/mimacrypto/mima/internal/ratelimit"
	"github.com/mimacrypto/mima/internal/sealstate"
	"github.com/mimacrypto/mima/internal/sm9"
	"github.com/mimacrypto/mima/internal/usage"
	"github.com/mimacrypto/mima/internal/v2x/scms"
)

// DefaultMaxBodyBytes is the default limit on a request body.
const DefaultMaxBodyBytes = 4 << 20

// TenantHeader lets the root token choose the tenant it acts in.
const TenantHeader = "X-Mima-Tenant"

// Auditor records one entry per request, durably, before the response is
// sent.
type Auditor interface {
	Log(ctx context.Context, e audit.Entry) error
}

// Services are what the API serves: the seal state, authentication, the
// key service, the certificate authority and the signature services (CMS,
// timestamps, certificate login).
type Services struct {
	Core *sealstate.Machine
	Auth *authn.Service
	Keys *kms.Service
	PKI  *pki.Service
	CMS  *cms.Service
	V2X  *scms.Service
	SM9  *sm9.Service
}

// Server is the HTTP handler of one mima node.
type Server struct {
	core     *sealstate.Machine
	auth     *authn.Service
	keys     *kms.Service
	pki      *pki.Service
	cms      *cms.Service
	v2x      *scms.Service
	sm9      *sm9.Service
	dcas     *dcas.Service
	auditor  Auditor
	auditSrc AuditSource
	leader   func() bool
	devices  Devices
	quotas   *quota.Service
	version  string
	maxBody  int64
	log      *slog.Logger
	metrics  *metrics
	extra    []prometheus.Collector // more metrics, from WithCollectors
	usage    *usage.Meter
	// deployment is the seal type and listeners health reports.
	deployment Deployment

	routes []route
	mux    *http.ServeMux

	publicLimit    *ratelimit.Limiter
	trustedProxies []netip.Prefix
	sampling       time.Duration
	samplingNow    func() time.Time
	tsigNow        func() time.Time // the clock TSIG times are signed and judged by

	idPrefix string
	idSeq    atomic.Uint64
}

// Option configures a Server.
type Option func(*Server)

// WithVersion sets the version reported by the health endpoint.
func WithVersion(v string) Option { return func(s *Server) { s.version = v } }

// WithMaxBodyBytes sets the request body limit.
func WithMaxBodyBytes(n int64) Option { return func(s *Server) { s.maxBody = n } }

// WithLogger sets the logger for internal errors (never for secrets).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithLeader reports, in the health endpoint, whether this node runs the
// cluster's jobs.
func WithLeader(leader func() bool) Option { return func(s *Server) { s.leader = leader } }

// WithAuditSource enables the audit verify and export endpoints.
func WithAuditSource(src AuditSource) Option { return func(s *Server) { s.auditSrc = src } }

// WithUsageMeter sets the meter that counts tenant calls (GET /v1/usage);
// by default each Server has its own.
func WithUsageMeter(m *usage.Meter) Option { return func(s *Server) { s.usage = m } }

// New returns the API handler for svc; every request is recorded by
// auditor.
func New(svc Services, auditor Auditor, opts ...Option) *Server {
	prefix := make([]byte, 4)
	_, _ = rand.Read(prefix)
	s := &Server{
		core: svc.Core, auth: svc.Auth, keys: svc.Keys, pki: svc.PKI, cms: svc.CMS, v2x: svc.V2X, sm9: svc.SM9, dcas: dcas.New(svc.Keys), auditor: auditor,
		version: "dev", maxBody: DefaultMaxBodyBytes, log: slog.Default(), tsigNow: time.Now,
		mux: http.NewServeMux(), idPrefix: hex.EncodeToString(prefix) + "-",
	}
	for _, o := range opts {
		o(s)
	}
	s.metrics = newMetrics(svc.Core, s.extra...)
	if s.usage == nil {
		s.usage = usage.New()
	}
	s.routes = s.allRoutes()
	if s.sampling > 0 {
		s.auditor = newSampler(s.auditor, s.publicOps(), s.sampling, s.samplingNow)
	}
	for i := range s.routes {
		s.register(&s.routes[i])
	}
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.mux.HandleFunc("/", s.notFound)
	return s
}

// Operations lists every operation name a policy may grant. It reads the
// route table of a Server without dependencies, which is never served.
func Operations() []string {
	var ops []string
	for _, r := range (&Server{}).allRoutes() {
		if r.scope == scopeTenant {
			ops = append(ops, r.op)
		}
	}
	return ops
}

// publicOps are the operations of the public routes that are audited,
// whose callers are rate limited and whose refusals are sampled.
func (s *Server) publicOps() map[string]bool {
	ops := map[string]bool{}
	for _, r := range s.routes {
		if limited(&r) {
			ops[r.op] = true
		}
	}
	return ops
}

// limited reports whether rt's callers are rate limited: public routes,
// except those polled by load balancers.
func limited(rt *route) bool { return rt.scope == scopePublic && !rt.unaudited }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) newRequestID() string {
	return s.idPrefix + strconv.FormatUint(s.idSeq.Add(1), 36)
}

// notFound answers requests that match no route: 405 when the path
// exists with other methods, 404 otherwise.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	id := s.newRequestID()
	w.Header().Set("X-Request-Id", id)
	var allowed []string
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.writeError(w, id, fault.New(fault.MethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	s.writeError(w, id, fault.New(fault.RouteNotFound, "no route for %s %s", r.Method, r.URL.Path))
}
