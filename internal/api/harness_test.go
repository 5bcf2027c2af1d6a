package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/barrier"
	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/cms"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/pki"
	"github.com/mimacrypto/mima/internal/quota"
	"github.com/mimacrypto/mima/internal/sealstate"
	"github.com/mimacrypto/mima/internal/sm9"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
	"github.com/mimacrypto/mima/internal/v2x/scms"
	"github.com/mimacrypto/mima/sdk"
)

// testNode is an API server over an in-memory store, initialised with one
// share and unsealed.
type testNode struct {
	t     testing.TB
	srv   *httptest.Server
	core  *sealstate.Machine
	auth  *authn.Service
	sink  *audit.MemorySink
	log   *audit.Logger
	share string
	root  string
	clock *clocktest.Clock
	api   *Server
	raw   *inmem.Backend
	// auditFails makes every audit write fail while set.
	auditFails *atomic.Bool
	// storeDown makes every read and write under the barrier fail while
	// set: a storage outage.
	storeDown *atomic.Bool
}

// outage is a store that fails while down is set.
type outage struct {
	storage.Backend
	down *atomic.Bool
}

var errOutage = errors.New("test: the store is unreachable")

func (o outage) Get(ctx context.Context, key string) ([]byte, error) {
	if o.down.Load() {
		return nil, errOutage
	}
	return o.Backend.Get(ctx, key)
}

func (o outage) Put(ctx context.Context, key string, value []byte) error {
	if o.down.Load() {
		return errOutage
	}
	return o.Backend.Put(ctx, key, value)
}

func (o outage) Delete(ctx context.Context, key string) error {
	if o.down.Load() {
		return errOutage
	}
	return o.Backend.Delete(ctx, key)
}

func (o outage) Batch(ctx context.Context, ops []storage.Op) error {
	if o.down.Load() {
		return errOutage
	}
	return o.Backend.Batch(ctx, ops)
}

func (o outage) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if o.down.Load() {
		return nil, errOutage
	}
	return o.Backend.List(ctx, prefix, after, limit)
}

func (o outage) Swap(ctx context.Context, conds []storage.Cond, ops []storage.Op) error {
	if o.down.Load() {
		return errOutage
	}
	return o.Backend.Swap(ctx, conds, ops)
}

// switchAuditor is an Auditor that fails on demand.
type switchAuditor struct {
	Auditor
	fail *atomic.Bool
}

func (a switchAuditor) Log(ctx context.Context, e audit.Entry) error {
	if a.fail.Load() {
		return errors.New("test: the audit sink is failing")
	}
	return a.Auditor.Log(ctx, e)
}

// snapshot returns every stored key and (encrypted) value.
func (n *testNode) snapshot() map[string]string {
	n.t.Helper()
	ctx := context.Background()
	keys, err := n.raw.List(ctx, "", "", 0)
	if err != nil {
		n.t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		v, err := n.raw.Get(ctx, k)
		if err != nil {
			n.t.Fatal(err)
		}
		out[k] = string(v)
	}
	return out
}

func newTestNode(t testing.TB, opts ...Option) *testNode {
	t.Helper()
	raw := inmem.New()
	down := new(atomic.Bool)
	b := barrier.New(outage{Backend: raw, down: down})
	clk := clocktest.New(time.Now())
	auth := authn.New(authn.WithOperations(Operations()), authn.WithClock(clk.Now))
	sink := audit.NewMemorySink(0)
	logger, err := audit.New(sink)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logger.Close() })
	keys := sealstate.NewAuditKeys(logger)
	qs := quota.New(clk.Now)
	dev := device.NewSoftware()
	ks := kms.New(dev, kms.WithKeyQuota(qs.MaxKeys))
	kgc := sm9.New(ks, dev.Random(), sm9.WithClock(clk.Now))
	ca := pki.New(ks)
	sigs := cms.New(ks, ca)
	v2x := scms.New(ks)
	c := sealstate.New(raw, b, auth, sealstate.WithComponents(keys, ks, ca, sigs, v2x, kgc, qs))
	chains := func(context.Context) (map[string]audit.Source, error) { return map[string]audit.Source{"": sink}, nil }
	opts = append([]Option{WithQuotas(qs), WithAuditSource(AuditSource{Own: sink, Chains: chains, Options: func() audit.VerifyOptions {
		return audit.VerifyOptions{PublicKey: keys.PublicKey()}
	}})}, opts...)
	fails := new(atomic.Bool)
	api := New(Services{Core: c, Auth: auth, Keys: ks, PKI: ca, CMS: sigs, V2X: v2x, SM9: kgc}, switchAuditor{Auditor: logger, fail: fails}, opts...)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	res, err := c.Init(ctx, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unseal(ctx, res.Shares[0]); err != nil {
		t.Fatal(err)
	}
	return &testNode{t: t, srv: srv, core: c, auth: auth, sink: sink, log: logger, share: res.Shares[0], root: res.RootToken, clock: clk,
		api: api, raw: raw, auditFails: fails, storeDown: down}
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errCode returns the error code of an error response, or "".
func (r response) errCode() string {
	var e errorBody
	if json.Unmarshal(r.body, &e) != nil {
		return ""
	}
	return string(e.Error.Code)
}

// do sends a request with an optional JSON (or raw string) body.
func (n *testNode) do(method, path, token string, body any, headers ...string) response {
	n.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			n.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, n.srv.URL+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := n.srv.Client().Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// tenant creates a tenant and returns its admin token.
func (n *testNode) tenant(name string) string {
	n.t.Helper()
	r := n.do("POST", "/v1/tenants", n.root, map[string]string{"name": name})
	if r.status != http.StatusCreated {
		n.t.Fatalf("create tenant %s: %d %s", name, r.status, r.body)
	}
	var out sdk.TenantCreated
	r.json(n.t, &out)
	return out.Token
}

// records returns the audit log as parsed records.
func (n *testNode) records() []audit.Record {
	n.t.Helper()
	var out []audit.Record
	err := n.sink.Scan(context.Background(), func(line []byte) error {
		rec, err := audit.ParseRecord(line)
		if err != nil {
			return err
		}
		out = append(out, *rec)
		return nil
	})
	if err != nil {
		n.t.Fatal(err)
	}
	return out
}
