package scms

import (
	"context"
	"encoding/hex"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// guard bounds how long a test waits for work that must not block; it is a
// failure deadline, never a measurement.
const guard = 30 * time.Second

// listHold is a store that holds the nth List of a prefix, after it has
// read its answer, until released.
type listHold struct {
	storage.Backend
	prefix string
	n      int32
	calls  atomic.Int32
	held   chan struct{}
	resume chan struct{}
}

func (h *listHold) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	keys, err := h.Backend.List(ctx, prefix, after, limit)
	if prefix == h.prefix && h.calls.Add(1) == h.n {
		close(h.held)
		<-h.resume
	}
	return keys, err
}

// TestRequestDuringRevocationIsRevoked: a request for pseudonyms that
// commits while a misbehaviour report of its device is between listing
// the device's requests and storing the revocation does not wait for the
// report, and is revoked with the device: the request and the revocation
// are both conditioned on the device's record at the RA.
func TestRequestDuringRevocationIsRevoked(t *testing.T) {
	w := newWorld(t, DeploymentRequest{})
	dev := w.device(t, "VIN-A", Vehicle)
	w.pseudonyms(t, dev, week, 1)
	d, err := w.s.load(ctx, w.dep.Name)
	if err != nil {
		t.Fatal(err)
	}
	var enrol ieee1609.Certificate
	if err := coer.Unmarshal(dev.State().Enrolment, &enrol); err != nil {
		t.Fatal(err)
	}
	sum, err := sec.HashedID8(&enrol)
	if err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(sum[:])
	// The report lists the device's requests twice: to ask the LAs for
	// seeds, then to revoke; the second is held.
	st := &listHold{Backend: w.store, prefix: d.byEnrolment(id, ""), n: 2, held: make(chan struct{}), resume: make(chan struct{})}
	if err := w.s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	reported := make(chan error, 1)
	go func() {
		_, err := w.s.Report(ctx, w.dep.Name, dev.State().Pseudonyms[0].Cert)
		reported <- err
	}()
	<-st.held
	requested := make(chan error, 1)
	go func() {
		_, err := dev.RequestPseudonymsFrom(ctx, transport{w}, w.clock.Now().Add(2*week), week, []ieee1609.Psid{PsidBSM})
		requested <- err
	}()
	select {
	case err := <-requested:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(guard):
		t.Fatal("a request waited for a revocation held in the store")
	}
	close(st.resume)
	if err := <-reported; err != nil {
		t.Fatal(err)
	}
	// Both requests reach the revocation's i-period: each has its seeds
	// on the linkage-based CRL.
	linked, err := w.store.List(ctx, d.path(d.Tenants.Root, "crl", "linked/"), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	requests, err := w.store.List(ctx, d.byEnrolment(id, ""), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(requests) != 2 || len(linked) != len(requests) {
		t.Fatalf("%d requests of the device, %d on the linkage-based CRL: a request escaped its revocation", len(requests), len(linked))
	}
}
