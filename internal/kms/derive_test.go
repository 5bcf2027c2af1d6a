package kms

import (
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"testing"

	"github.com/emmansun/gmsm/cbcmac"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// kdf16 is the documented KDF(Z, 16): the first 16 bytes of SM3(Z || 1),
// written out independently of the service.
func kdf16(z ...[]byte) []byte {
	var in []byte
	for _, p := range z {
		in = append(in, p...)
	}
	sum := sm3.Sum(append(in, 0, 0, 0, 1))
	return sum[:16]
}

func lp(s string) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...) }

// documentedChain derives as a device would, from the description in
// derive.go.
func documentedChain(k []byte, v int, dev, business, session string) (kDev, kBiz, kSess []byte) {
	label := []byte("MIMA-DERIVE-1")
	kDev = kdf16(k, label, []byte{1}, binary.BigEndian.AppendUint32(nil, uint32(v)), lp(dev))
	kBiz = kdf16(kDev, label, []byte{2}, lp(business))
	kSess = kdf16(kBiz, label, []byte{3}, lp(session))
	return kDev, kBiz, kSess
}

func TestDeriveMatchesDocumentedEncoding(t *testing.T) {
	s, st, _ := newTestService(t)
	mustCreate(t, s, "acme", "root", device.SM4, derived)
	kDev, kBiz, kSess := documentedChain(rawMaterial(t, st, "acme", "root", 1), 1, "meter-0042", "billing", "s-7")
	for _, tc := range []struct {
		name string
		d    Derivation
		want []byte
	}{
		{"device", Derivation{DeviceID: "meter-0042"}, kDev},
		{"business", Derivation{DeviceID: "meter-0042", Business: "billing"}, kBiz},
		{"session", Derivation{DeviceID: "meter-0042", Business: "billing", Session: "s-7"}, kSess},
	} {
		dk, err := s.Derive(ctx, "acme", "root", DeriveRequest{Derivation: tc.d, WithPlaintext: true})
		if err != nil || !bytes.Equal(dk.Plaintext, tc.want) || dk.Version != 1 {
			t.Fatalf("%s: Derive = %x (v%d), %v; want %x", tc.name, dk.Plaintext, dk.Version, err, tc.want)
		}
		again, _ := s.Derive(ctx, "acme", "root", DeriveRequest{Derivation: tc.d, WithPlaintext: true})
		if !bytes.Equal(again.Plaintext, dk.Plaintext) || again.Wrapped == dk.Wrapped {
			t.Fatalf("%s: derivation is not repeatable, or wrapping reuses a nonce", tc.name)
		}
		unwrapped, err := s.Decrypt(ctx, "acme", "root", DecryptRequest{Ciphertext: dk.Wrapped})
		if err != nil || !bytes.Equal(unwrapped, tc.want) {
			t.Fatalf("%s: unwrapping = %x, %v", tc.name, unwrapped, err)
		}
	}
	// A device provisioned with only its K_device derives its session key.
	prov, err := s.Derive(ctx, "acme", "root", DeriveRequest{Derivation: Derivation{DeviceID: "meter-0042"}, WithPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	label := []byte("MIMA-DERIVE-1")
	onDevice := kdf16(kdf16(prov.Plaintext, label, []byte{2}, lp("billing")), label, []byte{3}, lp("s-7"))
	sess, err := s.Derive(ctx, "acme", "root", DeriveRequest{Derivation: Derivation{DeviceID: "meter-0042", Business: "billing", Session: "s-7"}, WithPlaintext: true})
	if err != nil || !bytes.Equal(onDevice, sess.Plaintext) {
		t.Fatalf("device-side session key %x, service %x, %v", onDevice, sess.Plaintext, err)
	}
	if other, _ := s.Derive(ctx, "acme", "root", DeriveRequest{Derivation: Derivation{DeviceID: "meter-0043"}, WithPlaintext: true}); bytes.Equal(other.Plaintext, kDev) {
		t.Fatal("two devices share a key")
	}
	if _, err := s.Rotate(ctx, "acme", "root"); err != nil {
		t.Fatal(err)
	}
	v2, err := s.Derive(ctx, "acme", "root", DeriveRequest{Derivation: Derivation{DeviceID: "meter-0042"}, WithPlaintext: true})
	if err != nil || v2.Version != 2 || bytes.Equal(v2.Plaintext, kDev) {
		t.Fatalf("version 2 derivation = %x (v%d), %v", v2.Plaintext, v2.Version, err)
	}
	v1, err := s.Derive(ctx, "acme", "root", DeriveRequest{Derivation: Derivation{DeviceID: "meter-0042"}, Version: 1, WithPlaintext: true})
	if err != nil || !bytes.Equal(v1.Plaintext, kDev) {
		t.Fatalf("explicit version 1 derivation = %x, %v", v1.Plaintext, err)
	}
	if wrappedOnly, _ := s.Derive(ctx, "acme", "root", DeriveRequest{Derivation: Derivation{DeviceID: "d"}}); wrappedOnly.Plaintext != nil || wrappedOnly.Wrapped == "" {
		t.Fatalf("wrapped-only derivation = %+v", wrappedOnly)
	}
}

func TestDerivedKeyUsedDirectly(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "root", device.SM4, derived)
	d := &Derivation{DeviceID: "meter-1", Business: "telemetry", Session: "2026-11-26"}
	dk, err := s.Derive(ctx, "acme", "root", DeriveRequest{Derivation: *d, WithPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	ct := mustEncrypt(t, s, "acme", "root", EncryptRequest{Plaintext: []byte("reading=42"), Derivation: d})
	// The device decrypts with its own session key.
	_, payload, _ := parseCiphertext(ct)
	block, _ := sm4.NewCipher(dk.Plaintext)
	gcm, _ := cipher.NewGCM(block)
	if pt, err := gcm.Open(nil, payload[:12], payload[12:], nil); err != nil || string(pt) != "reading=42" {
		t.Fatalf("device-side open: %q, %v", pt, err)
	}
	if pt, err := s.Decrypt(ctx, "acme", "root", DecryptRequest{Ciphertext: ct, Derivation: d}); err != nil || string(pt) != "reading=42" {
		t.Fatalf("Decrypt with derivation: %q, %v", pt, err)
	}
	_, err = s.Decrypt(ctx, "acme", "root", DecryptRequest{Ciphertext: ct})
	wantCode(t, "without derivation", err, fault.DecryptFailed)
	_, err = s.Decrypt(ctx, "acme", "root", DecryptRequest{Ciphertext: ct, Derivation: &Derivation{DeviceID: "meter-2", Business: "telemetry", Session: "2026-11-26"}})
	wantCode(t, "other device", err, fault.DecryptFailed)

	mac, err := s.MAC(ctx, "acme", "root", MACRequest{Input: []byte("m"), Derivation: d})
	if err != nil || !bytes.Equal(mac.MAC, cbcmac.NewCMAC(block, 16).MAC([]byte("m"))) {
		t.Fatalf("derived MAC = %x, %v", mac.MAC, err)
	}
	if ok, err := s.VerifyMAC(ctx, "acme", "root", VerifyMACRequest{Input: []byte("m"), MAC: mac.MAC, Derivation: d}); !ok || err != nil {
		t.Fatalf("derived VerifyMAC = %v, %v", ok, err)
	}
}

func TestDeriveRejects(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "root", device.SM4, derived)
	mustCreate(t, s, "acme", "plain", device.SM4)
	mustCreate(t, s, "acme", "mac", device.HMACSM3)
	long := string(make([]byte, maxDerivePart+1))
	for _, tc := range []struct {
		name, key string
		d         Derivation
		code      fault.Code
	}{
		{"no device", "root", Derivation{Business: "b"}, fault.InvalidArgument},
		{"session without business", "root", Derivation{DeviceID: "d", Session: "s"}, fault.InvalidArgument},
		{"long device", "root", Derivation{DeviceID: long}, fault.InvalidArgument},
		{"long session", "root", Derivation{DeviceID: "d", Business: "b", Session: long}, fault.InvalidArgument},
		{"not derived", "plain", Derivation{DeviceID: "d"}, fault.InvalidArgument},
		{"hmac key", "mac", Derivation{DeviceID: "d"}, fault.KeyTypeMismatch},
	} {
		_, err := s.Derive(ctx, "acme", tc.key, DeriveRequest{Derivation: tc.d})
		wantCode(t, tc.name, err, tc.code)
	}
	_, err := s.Derive(ctx, "acme", "root", DeriveRequest{Derivation: Derivation{DeviceID: "d"}, Version: 2})
	wantCode(t, "absent version", err, fault.InvalidArgument)
}
