package scms

import (
	"bytes"
	"context"
	cryptoRand "crypto/rand"
	"slices"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// The entry points a device reaches without a token, as the fuzzer picks
// them. The "inner" ones take the plaintext of a request and encrypt it
// to the RA, so that mutations reach past decryption.
const (
	opEnrol = iota
	opRequest
	opDownload
	opReport
	opRequestInner
	opDownloadInner
	opCount
)

// recorder is a transport that keeps what a device sent.
type recorder struct {
	transport
	sent [opCount][][]byte
}

func (r *recorder) Enrol(ctx context.Context, spdu []byte) ([]byte, error) {
	r.sent[opEnrol] = append(r.sent[opEnrol], spdu)
	return r.transport.Enrol(ctx, spdu)
}

func (r *recorder) Request(ctx context.Context, spdu []byte) ([]byte, error) {
	r.sent[opRequest] = append(r.sent[opRequest], spdu)
	return r.transport.Request(ctx, spdu)
}

func (r *recorder) Download(ctx context.Context, spdu []byte) ([]byte, error) {
	r.sent[opDownload] = append(r.sent[opDownload], spdu)
	return r.transport.Download(ctx, spdu)
}

// FuzzDeviceEntryPoints sends arbitrary bytes, and mutations of real
// enrolment, pseudonym, application-certificate and download requests and
// of a misbehaviour report, to the authorities. Whatever comes in, the
// answer is either success or a fault with one of the codes a device can
// be given, and a refused message changes nothing stored.
func FuzzDeviceEntryPoints(f *testing.F) {
	w := newWorld(f, DeploymentRequest{RoadsidePsids: []ieee1609.Psid{3619}})
	rec := &recorder{transport: transport{w}}
	// The reported vehicle is another than the one whose requests are
	// replayed, which would otherwise meet only device_blocked.
	reported := w.device(f, "VIN-R", Vehicle)
	w.pseudonyms(f, reported, week, 1)
	allow := []DeviceEntry{{ID: "VIN-F", Kind: Vehicle}, {ID: "RSU-F", Kind: Roadside}}
	if err := w.s.AllowDevices(ctx, w.dep.Name, allow); err != nil {
		f.Fatal(err)
	}
	car, rsu := w.newDevice(f, "VIN-F", Vehicle), w.newDevice(f, "RSU-F", Roadside)
	if err := car.Enrol(ctx, rec, []ieee1609.Psid{PsidBSM}); err != nil {
		f.Fatal(err)
	}
	if err := rsu.Enrol(ctx, rec, []ieee1609.Psid{3619}); err != nil {
		f.Fatal(err)
	}
	r, err := car.RequestPseudonyms(ctx, rec, week, []ieee1609.Psid{PsidBSM})
	if err != nil {
		f.Fatal(err)
	}
	if err := rsu.RequestApplicationCert(ctx, rec, week, []ieee1609.Psid{3619}); err != nil {
		f.Fatal(err)
	}
	if _, err := w.s.Flush(ctx, w.dep.Name); err != nil {
		f.Fatal(err)
	}
	if _, err := car.Download(ctx, rec, r.Hash, r.First); err != nil {
		f.Fatal(err)
	}
	d, err := w.s.load(ctx, w.dep.Name)
	if err != nil {
		f.Fatal(err)
	}
	for op, msgs := range rec.sent {
		for _, m := range msgs {
			f.Add(uint8(op), m)
			if op == opRequest || op == opDownload {
				f.Add(uint8(op+opRequestInner-opRequest), decryptForRA(f, w, d, m))
			}
		}
	}
	f.Add(uint8(opReport), reported.State().Pseudonyms[0].Cert)
	f.Add(uint8(opReport), w.dep.PCA)
	f.Add(uint8(opEnrol), []byte{})

	deviceCodes := []fault.Code{fault.SPDUInvalid, fault.InvalidArgument, fault.DeviceNotAllowed,
		fault.DeviceBlocked, fault.DownloadNotReady, fault.NotFound}
	f.Fuzz(func(t *testing.T, op uint8, msg []byte) {
		before := snapshot(t, w)
		var err error
		switch op % opCount {
		case opEnrol:
			_, err = w.s.Enrol(ctx, w.dep.Name, msg)
		case opRequest:
			_, err = w.s.Request(ctx, w.dep.Name, msg)
		case opDownload:
			_, err = w.s.Download(ctx, w.dep.Name, msg)
		case opReport:
			_, err = w.s.Report(ctx, w.dep.Name, msg)
		case opRequestInner:
			_, err = w.s.Request(ctx, w.dep.Name, encryptToRA(t, d, msg))
		case opDownloadInner:
			_, err = w.s.Download(ctx, w.dep.Name, encryptToRA(t, d, msg))
		}
		if err == nil {
			return
		}
		if e, ok := fault.As(err); !ok || !slices.Contains(deviceCodes, e.Code) {
			t.Fatalf("op %d: %v is not a device error", op%opCount, err)
		}
		if after := snapshot(t, w); !sameStore(before, after) {
			t.Fatalf("op %d: refused with %v, yet the store changed", op%opCount, err)
		}
	})
}

// decryptForRA opens a request a device encrypted to the RA.
func decryptForRA(t testing.TB, w *world, d *deployment, spdu []byte) []byte {
	data, err := decodeData(spdu)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := w.s.decrypt(ctx, d.Tenants.RA, keyName(d.Name, "ra", "enc"), d.ra, data)
	if err != nil {
		t.Fatal(err)
	}
	return pt
}

// encryptToRA wraps plaintext as a device does for the RA.
func encryptToRA(t testing.TB, d *deployment, plaintext []byte) []byte {
	pub, err := sec.EncryptingKey(*d.ra.ToBeSigned.EncryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	id, err := sec.HashedID8(d.ra)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := sec.CN.Encrypt(cryptoRand.Reader, plaintext, sec.Recipient{Key: pub, ID: id, Kind: sec.CertRecipient})
	if err != nil {
		t.Fatal(err)
	}
	b, err := coer.Marshal(&ieee1609.Data{ProtocolVersion: 3, Content: ieee1609.Content{EncryptedData: ed}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// snapshot is every entry of the world's store.
func snapshot(t testing.TB, w *world) map[string][]byte { return snapshotUnder(t, w, "") }

// snapshotUnder is every entry of the world's store under prefix.
func snapshotUnder(t testing.TB, w *world, prefix string) map[string][]byte {
	keys, err := w.store.List(ctx, prefix, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if out[k], err = w.store.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sameStore(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}
