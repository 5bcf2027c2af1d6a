package kms

import (
	"bytes"
	"context"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

// maskingDevice is the Software device with stored forms that are not the
// raw key: it stores every key XORed with 0x5a, as an HSM stores a label.
// A key service that reads stored material as key bytes breaks with it.
type maskingDevice struct {
	device.Device
}

// mask XORs b with 0x5a into a new slice; it is its own inverse.
func mask(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c ^ 0x5a
	}
	return out
}

func (d maskingDevice) Generate(ctx context.Context, t device.KeyType) ([]byte, error) {
	m, err := d.Device.Generate(ctx, t)
	return mask(m), err
}

func (d maskingDevice) Open(ctx context.Context, t device.KeyType, stored []byte) (device.Key, error) {
	return d.Device.Open(ctx, t, mask(stored))
}

func (d maskingDevice) Unwrap(ctx context.Context, wk device.Key, t device.KeyType, wrapped []byte) ([]byte, error) {
	m, err := d.Device.Unwrap(ctx, wk, t, wrapped)
	return mask(m), err
}

func (d maskingDevice) Backup(ctx context.Context, t device.KeyType, stored []byte) ([]byte, error) {
	return d.Device.Backup(ctx, t, mask(stored))
}

func (d maskingDevice) Restore(ctx context.Context, t device.KeyType, backup []byte) ([]byte, error) {
	b, err := d.Device.Restore(ctx, t, backup)
	return mask(b), err
}

// TestKeyServiceTreatsMaterialAsOpaque runs export, import, derivation and
// backup through a device whose stored forms are not raw keys: every
// operation that touches key material must happen inside the device.
func TestKeyServiceTreatsMaterialAsOpaque(t *testing.T) {
	s := New(maskingDevice{sharedDevice}, WithBackupIterations(1))
	st := inmem.New()
	if err := s.Unsealed(ctx, st); err != nil {
		t.Fatal(err)
	}
	receiver := newSM2Key(t)
	for _, typ := range []device.KeyType{device.SM4, device.SM2, device.HMACSM3} {
		t.Run(string(typ), func(t *testing.T) {
			name := "x-" + string(typ)
			mustCreate(t, s, "acme", name, typ, exportable)
			raw := mask(rawMaterial(t, st, "acme", name, 1))
			ek, err := s.Export(ctx, "acme", name, ExportRequest{PublicKeyPEM: pemOf(t, &receiver.PublicKey)})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(unwrapExport(t, receiver, ek), raw) {
				t.Error("the export does not hold the key the device uses")
			}

			blob := mustBackup(t, s, "acme", name)
			soft, _, _ := newTestService(t)
			if _, err := soft.Restore(ctx, "beta", RestoreRequest{Blob: blob, Password: password}); err != nil {
				t.Fatal(err)
			}
			provesMaterial(t, soft, "beta", name, typ, 1, raw)

			imported := randomBytes(t, 16)
			var wrapped []byte
			p := mustParams(t, s, "acme", name)
			if typ == device.SM2 {
				priv := newSM2Key(t)
				imported = priv.D.FillBytes(make([]byte, 32))
				wrapped = wrapSM2(t, p, priv)
			} else {
				wrapped = wrapRaw(t, p, imported)
			}
			if _, err := s.Import(ctx, "acme", name, ImportRequest{Token: p.Token, WrappedMaterial: wrapped}); err != nil {
				t.Fatal(err)
			}
			provesMaterial(t, s, "acme", name, typ, 2, imported)
		})
	}
	t.Run("derive", func(t *testing.T) {
		mustCreate(t, s, "acme", "root", device.SM4, derived)
		d := Derivation{DeviceID: "meter-7"}
		dk, err := s.Derive(ctx, "acme", "root", DeriveRequest{Derivation: d, WithPlaintext: true})
		if err != nil {
			t.Fatal(err)
		}
		ct := mustEncrypt(t, s, "acme", "root", EncryptRequest{Plaintext: []byte("hi"), Derivation: &d})
		_, payload := payloadOf(t, ct)
		if pt, err := localOpen(t, dk.Plaintext, payload, nil); err != nil || string(pt) != "hi" {
			t.Errorf("the derived key returned is not the one that encrypts: %q, %v", pt, err)
		}
	})
}
