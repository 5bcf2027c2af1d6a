package scms

import (
	"context"
	cryptoRand "crypto/rand"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/storage/inmem"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ee"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

var ctx = context.Background()

var sharedDevice = device.NewSoftware()

// world is a deployment with its store, clock and transport.
type world struct {
	s     *Service
	store *inmem.Backend
	clock *clocktest.Clock
	dep   Deployment
}

var testTenants = Tenants{Root: "v2x-root", ECA: "v2x-eca", RA: "v2x-ra", LA1: "v2x-la1", LA2: "v2x-la2", PCA: "v2x-pca", MA: "v2x-ma"}

func newWorld(t testing.TB, req DeploymentRequest, opts ...Option) *world {
	t.Helper()
	// A clock a day into an i-period, so that a request spans it and the next.
	c := clocktest.New(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	s, st := newService(t, c, opts...)
	if req.Name == "" {
		req.Name = "cn"
	}
	if req.Tenants == (Tenants{}) {
		req.Tenants = testTenants
	}
	dep, err := s.CreateDeployment(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return &world{s: s, store: st, clock: c, dep: dep}
}

// newService is a Service on a store of its own, as one cluster has.
func newService(t testing.TB, c *clocktest.Clock, opts ...Option) (*Service, *inmem.Backend) {
	t.Helper()
	keys := kms.New(sharedDevice, kms.WithClock(c.Now))
	s := New(keys, append([]Option{WithClock(c.Now)}, opts...)...)
	st := inmem.New()
	if err := keys.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	return s, st
}

// transport carries a device's messages to the service in process.
type transport struct{ w *world }

func (t transport) Enrol(ctx context.Context, spdu []byte) ([]byte, error) {
	return t.w.s.Enrol(ctx, t.w.dep.Name, spdu)
}

func (t transport) Request(ctx context.Context, spdu []byte) ([]byte, error) {
	ack, err := t.w.s.Request(ctx, t.w.dep.Name, spdu)
	return ack.SPDU, err
}

func (t transport) Download(ctx context.Context, spdu []byte) ([]byte, error) {
	return t.w.s.Download(ctx, t.w.dep.Name, spdu)
}

func (t transport) TrustList(ctx context.Context) ([]byte, error) {
	return t.w.s.TrustList(ctx, t.w.dep.Name)
}

func (t transport) CRL(ctx context.Context) ([]byte, error) {
	return t.w.s.CompositeCRL(ctx, t.w.dep.Name)
}

// rootPin is the HashedId8 of the deployment's root.
func (w *world) rootPin(t testing.TB) ieee1609.HashedId8 {
	var root ieee1609.Certificate
	if err := coer.Unmarshal(w.dep.Root, &root); err != nil {
		t.Fatal(err)
	}
	id, err := sec.HashedID8(&root)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// device makes an allowed, enrolled device with the trust list.
func (w *world) device(t testing.TB, id, kind string, psids ...ieee1609.Psid) *ee.Device {
	t.Helper()
	if err := w.s.AllowDevices(ctx, w.dep.Name, []DeviceEntry{{ID: id, Kind: kind}}); err != nil {
		t.Fatal(err)
	}
	d := w.newDevice(t, id, kind)
	if len(psids) == 0 {
		psids = []ieee1609.Psid{PsidBSM}
	}
	if err := d.Enrol(ctx, transport{w}, psids); err != nil {
		t.Fatalf("enrol %s: %v", id, err)
	}
	return d
}

// newDevice makes a device with the trust list, not enrolled.
func (w *world) newDevice(t testing.TB, id, kind string) *ee.Device {
	t.Helper()
	st, err := ee.NewState(cryptoRand.Reader, id, kind, w.rootPin(t))
	if err != nil {
		t.Fatal(err)
	}
	d, err := ee.Open(st, ee.WithClock(w.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.UpdateTrust(ctx, transport{w}); err != nil {
		t.Fatalf("trust list: %v", err)
	}
	return d
}

// pseudonyms requests and downloads span of pseudonym certificates.
func (w *world) pseudonyms(t testing.TB, d *ee.Device, span time.Duration, periods int) ee.Request {
	t.Helper()
	r, err := d.RequestPseudonyms(ctx, transport{w}, span, []ieee1609.Psid{PsidBSM})
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if err := w.s.RunJobs(ctx); err != nil { // the flush, with the CRLs and Tidy
		t.Fatalf("jobs: %v", err)
	}
	for k := range periods {
		n, err := d.Download(ctx, transport{w}, r.Hash, r.First+uint16(k))
		if err != nil || n != w.dep.CertsPerPeriod {
			t.Fatalf("download period %d: %d certificates, %v", r.First+uint16(k), n, err)
		}
	}
	return r
}
