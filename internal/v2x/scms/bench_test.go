package scms

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/v2x/ee"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/linkage"
)

// capture is a transport that keeps the request a device sends.
type capture struct {
	transport
	spdu []byte
}

var errCaptured = errors.New("captured")

func (c *capture) Request(_ context.Context, spdu []byte) ([]byte, error) {
	c.spdu = spdu
	return nil, errCaptured
}

// BenchmarkPseudonymIssuance measures what the RA and PCA do per week of
// pseudonyms (20 certificates): the RA's decryption and checks, butterfly
// expansion, both LAs' pre-linkage values, the RA's signatures, and the
// PCA's decryption of the PLVs, issuance, encryption to the cocoon key and
// signatures. The device's side is not timed.
func BenchmarkPseudonymIssuance(b *testing.B) {
	w := newWorld(b, DeploymentRequest{})
	devices := []*ee.Device{w.device(b, "VIN-1", Vehicle), w.device(b, "VIN-2", Vehicle), w.device(b, "VIN-3", Vehicle)}
	c := &capture{transport: transport{w}}
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		if _, err := devices[n%len(devices)].RequestPseudonyms(ctx, c, week, []ieee1609.Psid{PsidBSM}); !errors.Is(err, errCaptured) {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := w.s.Request(ctx, w.dep.Name, c.spdu); err != nil {
			b.Fatal(err)
		}
	}
	issued, err := w.s.Flush(ctx, w.dep.Name)
	if err != nil || issued != 20*b.N {
		b.Fatalf("flush: %d, %v", issued, err)
	}
	b.ReportMetric(float64(issued)/b.Elapsed().Seconds(), "certs/s")
}

// BenchmarkVerifySPDU measures a receiver verifying a signed basic safety
// message with the pseudonym certificate in it: the chain to the root,
// permissions, region, revocation and the SM2 signature, with CRLs of 0
// and 10,000 revoked vehicles.
func BenchmarkVerifySPDU(b *testing.B) {
	for _, revoked := range []int{0, 10000} {
		b.Run(map[int]string{0: "empty-CRL", 10000: "CRL-10000-vehicles"}[revoked], func(b *testing.B) {
			w := newWorld(b, DeploymentRequest{})
			a, r := w.device(b, "VIN-A", Vehicle), w.device(b, "VIN-B", Vehicle)
			w.pseudonyms(b, a, week, 1)
			w.revokeSynthetic(b, revoked)
			if err := r.UpdateCRL(ctx, transport{w}); err != nil {
				b.Fatal(err)
			}
			msg, err := a.Sign([]byte("BSM 39.9042N 116.4074E heading 90 speed 12"), PsidBSM, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.Verify(msg, PsidBSM, time.Minute); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := r.Verify(msg, PsidBSM, time.Minute); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
		})
	}
}

// revokeSynthetic puts n made-up vehicles on the linkage-based CRL.
func (w *world) revokeSynthetic(t testing.TB, n int) {
	t.Helper()
	d, err := w.s.load(ctx, w.dep.Name)
	if err != nil {
		t.Fatal(err)
	}
	i := d.period(w.clock.Now())
	for range n {
		slot, _ := w.s.randomSlot()
		r := linkedRevocation{LA1: d.LA1ID, LA2: d.LA2ID, IRev: i, IMax: i + 4, JMax: uint8(d.CertsPerPeriod)}
		copy(r.Seed1[:], slot)
		s2, _ := w.s.randomSlot()
		copy(r.Seed2[:], s2)
		op, err := d.revokeLinkedOp(slot, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.store.Put(ctx, op.Key, op.Value); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.s.IssueCRLs(ctx, w.dep.Name); err != nil {
		t.Fatal(err)
	}
	_ = linkage.LaID{}
}
