// Package devicetest is the conformance suite of device.Device: every
// implementation (the Software device, a PKCS#11 token, a pool) must pass
// Run, known-answer vectors included. Known keys enter the device the only
// way keys enter a device, by Unwrap, so the suite needs nothing but the
// Device interface.
package devicetest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"math/big"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/cbcmac"
	"github.com/emmansun/gmsm/kdf"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/device"
)

// Run runs the suite against devices made by open, one per subtest.
func Run(t *testing.T, open func(t *testing.T) device.Device) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, device.Device)
	}{
		{"GenerateFresh", testGenerateFresh},
		{"UnsupportedTypes", testUnsupportedTypes},
		{"OpenRejectsBadMaterial", testOpenRejectsBadMaterial},
		{"AEAD", testAEAD},
		{"MAC", testMAC},
		{"Derive", testDerive},
		{"SM2", testSM2},
		{"WrapUnwrap", testWrapUnwrap},
		{"UnwrapRejects", testUnwrapRejects},
		{"BackupRestore", testBackupRestore},
		{"Concurrent", testConcurrent},
		{"KnownAnswersSM4", testKnownSM4},
		{"KnownAnswersMAC", testKnownMAC},
		{"KnownAnswersSM2", testKnownSM2},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var ctx = context.Background()

var allTypes = []device.KeyType{device.SM4, device.SM2, device.HMACSM3}

// generate makes and opens a key of type typ.
func generate(t *testing.T, dev device.Device, typ device.KeyType) device.Key {
	t.Helper()
	stored, err := dev.Generate(ctx, typ)
	if err != nil {
		t.Fatal(err)
	}
	return open(t, dev, typ, stored)
}

func open(t *testing.T, dev device.Device, typ device.KeyType, stored []byte) device.Key {
	t.Helper()
	k, err := dev.Open(ctx, typ, stored)
	if err != nil {
		t.Fatal(err)
	}
	if k.Type() != typ {
		t.Fatalf("opened %s key reports type %s", typ, k.Type())
	}
	return k
}

// importKey brings raw (a raw sm4 or hmac-sm3 key, or an SM2 scalar) into
// dev through Unwrap, as the key service imports, and opens it.
func importKey(t *testing.T, dev device.Device, typ device.KeyType, raw []byte) device.Key {
	t.Helper()
	wk := generate(t, dev, device.SM2)
	stored, err := dev.Unwrap(ctx, wk, typ, wrapFor(t, wk.(device.Signer).Public(), typ, raw))
	if err != nil {
		t.Fatalf("unwrapping a %s key: %v", typ, err)
	}
	return open(t, dev, typ, stored)
}

// wrapFor wraps raw for pub in the import format of typ.
func wrapFor(t *testing.T, pub *ecdsa.PublicKey, typ device.KeyType, raw []byte) []byte {
	t.Helper()
	if typ == device.SM2 {
		priv, err := sm2.NewPrivateKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		env, err := sm2.MarshalEnvelopedPrivateKey(rand.Reader, pub, priv)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	w, err := sm2.EncryptASN1(rand.Reader, pub, raw)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func testGenerateFresh(t *testing.T, dev device.Device) {
	for _, typ := range allTypes {
		a, err := dev.Generate(ctx, typ)
		if err != nil {
			t.Fatal(err)
		}
		b, err := dev.Generate(ctx, typ)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(a, b) {
			t.Errorf("%s: two generated keys have the same stored form", typ)
		}
		open(t, dev, typ, a)
	}
	r := make([]byte, 64)
	if _, err := dev.Random().Read(r); err != nil || bytes.Equal(r, make([]byte, 64)) {
		t.Errorf("Random gave %x, %v", r, err)
	}
}

func testUnsupportedTypes(t *testing.T, dev device.Device) {
	for _, typ := range []device.KeyType{"zuc", "sm9-sign", "sm9-encrypt", "rsa", "", "SM4"} {
		if _, err := dev.Generate(ctx, typ); !errors.Is(err, device.ErrUnsupportedType) || !errors.Is(err, device.ErrNotSupported) {
			t.Errorf("Generate(%q): %v, want ErrUnsupportedType and ErrNotSupported", typ, err)
		}
		if _, err := dev.Open(ctx, typ, make([]byte, 16)); !errors.Is(err, device.ErrUnsupportedType) {
			t.Errorf("Open(%q): %v, want ErrUnsupportedType", typ, err)
		}
	}
}

func testOpenRejectsBadMaterial(t *testing.T, dev device.Device) {
	for _, typ := range allTypes {
		for _, bad := range [][]byte{nil, {1}, bytes.Repeat([]byte{0xff}, 65)} {
			if _, err := dev.Open(ctx, typ, bad); err == nil {
				t.Errorf("%s: opened a stored form of %d bytes", typ, len(bad))
			}
		}
	}
}

func testAEAD(t *testing.T, dev device.Device) {
	k := generate(t, dev, device.SM4).(device.AEAD)
	pt, aad := []byte("attack at dawn"), []byte("context")
	prefix := []byte("prefix")
	sealed, err := k.Seal(ctx, bytes.Clone(prefix), dev.Random(), pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealed, prefix) || len(sealed) != len(prefix)+device.NonceSize+len(pt)+device.TagSize {
		t.Fatalf("sealed form has %d bytes", len(sealed))
	}
	sealed = sealed[len(prefix):]
	again, err := k.Seal(ctx, nil, dev.Random(), pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again[:device.NonceSize], sealed[:device.NonceSize]) {
		t.Fatal("two seals share a nonce")
	}
	got, err := k.Open(ctx, []byte("x"), sealed, aad)
	if err != nil || string(got) != "x"+string(pt) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other := generate(t, dev, device.SM4).(device.AEAD)
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for _, tc := range []struct {
		name   string
		k      device.AEAD
		sealed []byte
		aad    []byte
	}{
		{"wrong aad", k, sealed, []byte("other")},
		{"no aad", k, sealed, nil},
		{"flipped tag", k, flipped, aad},
		{"truncated", k, sealed[:device.NonceSize+device.TagSize-1], aad},
		{"empty", k, nil, aad},
		{"other key", other, sealed, aad},
	} {
		if _, err := tc.k.Open(ctx, nil, tc.sealed, tc.aad); !errors.Is(err, device.ErrDecrypt) {
			t.Errorf("%s: %v, want ErrDecrypt", tc.name, err)
		}
	}
}

func mac(t *testing.T, k device.Key, dst, msg []byte) []byte {
	t.Helper()
	m, err := k.(device.MAC).MAC(ctx, dst, msg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testMAC(t *testing.T, dev device.Device) {
	for _, typ := range []device.KeyType{device.SM4, device.HMACSM3} {
		k1, k2 := generate(t, dev, typ), generate(t, dev, typ)
		a, b := mac(t, k1, nil, []byte("m")), mac(t, k1, nil, []byte("m"))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: MAC is not deterministic", typ)
		}
		if bytes.Equal(a, mac(t, k1, nil, []byte("n"))) || bytes.Equal(a, mac(t, k2, nil, []byte("m"))) {
			t.Errorf("%s: MAC ignores the key or the message", typ)
		}
		if got := mac(t, k1, []byte("p"), []byte("m")); !bytes.Equal(got, append([]byte("p"), a...)) {
			t.Errorf("%s: MAC does not append to dst", typ)
		}
	}
}

// testDerive checks Derive against the SM3 KDF of GB/T 32918.4 on a key
// imported with known bytes, and that the derived key is a handle that
// works like the raw key it extracts to.
func testDerive(t *testing.T, dev device.Device) {
	raw := bytes.Repeat([]byte{7}, 16)
	parent := importKey(t, dev, device.SM4, raw).(device.Deriver)
	child, err := parent.Derive(ctx, []byte("info"))
	if err != nil {
		t.Fatal(err)
	}
	if child.Type() != device.SM4 {
		t.Fatalf("derived key has type %s", child.Type())
	}
	// KDF(Z, 16) is the first 16 bytes of SM3(Z || counter 1).
	want := kdf.Kdf(sm3.New, append(bytes.Clone(raw), "info"...), 16)
	if ex, ok := child.(device.Extractable); ok {
		got, err := ex.Extract(ctx)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Extract = %x, %v; want %x", got, err, want)
		}
	}
	// Whether or not it extracts, the child computes with KDF(K || info).
	block, err := sm4.NewCipher(want)
	if err != nil {
		t.Fatal(err)
	}
	cm := cbcmac.NewCMAC(block, 16)
	cm.Write([]byte("m"))
	if got := mac(t, child, nil, []byte("m")); !bytes.Equal(got, cm.Sum(nil)) {
		t.Fatal("the derived key does not compute with KDF(K || info)")
	}
	again, err := parent.Derive(ctx, []byte("infO"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(mac(t, again, nil, []byte("m")), cm.Sum(nil)) {
		t.Fatal("different info gave the same key")
	}
	if _, ok := parent.(device.Extractable); ok {
		t.Fatal("a stored key is extractable")
	}
}

func testSM2(t *testing.T, dev device.Device) {
	k := generate(t, dev, device.SM2)
	signer := k.(device.Signer)
	pub := signer.Public()
	e, err := device.SM2Digest(pub, []byte("alice"), []byte("msg"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.Sign(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if !device.VerifySM2(pub, e, sig) || !sm2.VerifyASN1WithSM2(pub, []byte("alice"), []byte("msg"), sig) {
		t.Fatal("signature does not verify")
	}
	if device.VerifySM2(pub, e, append(bytes.Clone(sig), 0)) {
		t.Fatal("signature with trailing data verifies")
	}
	if _, err := signer.Sign(ctx, e[:31]); err == nil {
		t.Fatal("signed a 31-byte digest")
	}

	dec := k.(device.Decrypter)
	asn1CT, err := sm2.EncryptASN1(rand.Reader, pub, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	rawCT, err := sm2.Encrypt(rand.Reader, pub, []byte("secret"), sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
	if err != nil {
		t.Fatal(err)
	}
	for name, ct := range map[string][]byte{"asn1": asn1CT, "c1c3c2": rawCT} {
		if pt, err := dec.Decrypt(ctx, ct); err != nil || string(pt) != "secret" {
			t.Errorf("%s: Decrypt = %q, %v", name, pt, err)
		}
		bad := bytes.Clone(ct)
		bad[len(bad)-1] ^= 1
		if _, err := dec.Decrypt(ctx, bad); !errors.Is(err, device.ErrDecrypt) {
			t.Errorf("%s tampered: %v, want ErrDecrypt", name, err)
		}
	}
	if _, err := dec.Decrypt(ctx, []byte("garbage")); !errors.Is(err, device.ErrDecrypt) {
		t.Errorf("garbage: %v, want ErrDecrypt", err)
	}
}

// testWrapUnwrap exports every type under the public key of another key of
// the device and imports it back: the imported key computes like the
// original. A device may refuse Wrap with ErrNotSupported.
func testWrapUnwrap(t *testing.T, dev device.Device) {
	wk := generate(t, dev, device.SM2)
	pub := wk.(device.Signer).Public()
	for _, tc := range []struct {
		typ  device.KeyType
		form device.SM2Form
	}{{device.SM4, device.SM2ASN1}, {device.SM4, device.SM2C1C3C2}, {device.HMACSM3, device.SM2ASN1}, {device.SM2, device.SM2ASN1}} {
		k := generate(t, dev, tc.typ)
		w, ok := k.(device.Wrapper)
		if !ok {
			continue
		}
		wrapped, err := w.Wrap(ctx, pub, tc.form)
		if errors.Is(err, device.ErrNotSupported) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: Wrap: %v", tc.typ, err)
		}
		stored, err := dev.Unwrap(ctx, wk, tc.typ, wrapped)
		if err != nil {
			t.Fatalf("%s: Unwrap of an exported key: %v", tc.typ, err)
		}
		sameKey(t, tc.typ, k, open(t, dev, tc.typ, stored))
	}
	if w, ok := generate(t, dev, device.SM2).(device.Wrapper); ok {
		if _, err := w.Wrap(ctx, pub, device.SM2C1C3C2); !errors.Is(err, device.ErrNotSupported) {
			t.Errorf("an sm2 key wrapped in C1C3C2 form: %v, want ErrNotSupported", err)
		}
	}
}

// sameKey checks that a and b compute the same.
func sameKey(t *testing.T, typ device.KeyType, a, b device.Key) {
	t.Helper()
	switch typ {
	case device.SM4, device.HMACSM3:
		if !bytes.Equal(mac(t, a, nil, []byte("m")), mac(t, b, nil, []byte("m"))) {
			t.Errorf("%s: the keys differ", typ)
		}
	case device.SM2:
		if !a.(device.Signer).Public().Equal(b.(device.Signer).Public()) {
			t.Errorf("sm2: the keys differ")
		}
	}
}

func testUnwrapRejects(t *testing.T, dev device.Device) {
	wk := generate(t, dev, device.SM2)
	pub := wk.(device.Signer).Public()
	other, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	scalar := pair.D.FillBytes(make([]byte, 32))
	for _, tc := range []struct {
		name    string
		typ     device.KeyType
		wrapped []byte
		want    error
	}{
		{"sm4 short", device.SM4, wrapFor(t, pub, device.SM4, randomBytes(t, 15)), device.ErrInvalidMaterial},
		{"hmac long", device.HMACSM3, wrapFor(t, pub, device.HMACSM3, randomBytes(t, 65)), device.ErrInvalidMaterial},
		{"sm4 for another key", device.SM4, wrapFor(t, &other.PublicKey, device.SM4, randomBytes(t, 16)), device.ErrUnwrap},
		{"sm4 garbage", device.SM4, []byte("not a ciphertext"), device.ErrUnwrap},
		{"sm2 raw scalar", device.SM2, wrapFor(t, pub, device.SM4, scalar), device.ErrInvalidMaterial},
		{"sm2 for another key", device.SM2, wrapFor(t, &other.PublicKey, device.SM2, scalar), device.ErrUnwrap},
		{"zuc", "zuc", wrapFor(t, pub, device.SM4, randomBytes(t, 16)), device.ErrNotSupported},
	} {
		if _, err := dev.Unwrap(ctx, wk, tc.typ, tc.wrapped); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		var me *device.MaterialError
		if errors.As(err, &me) && me.Rule == "" {
			t.Errorf("%s: a material error names no rule", tc.name)
		}
	}
}

func testBackupRestore(t *testing.T, dev device.Device) {
	for _, typ := range allTypes {
		stored, err := dev.Generate(ctx, typ)
		if err != nil {
			t.Fatal(err)
		}
		b, err := dev.Backup(ctx, typ, stored)
		if errors.Is(err, device.ErrNotSupported) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: Backup: %v", typ, err)
		}
		back, err := dev.Restore(ctx, typ, b)
		if err != nil {
			t.Fatalf("%s: Restore: %v", typ, err)
		}
		sameKey(t, typ, open(t, dev, typ, stored), open(t, dev, typ, back))
		if _, err := dev.Restore(ctx, typ, []byte{1}); err == nil {
			t.Errorf("%s: restored a 1-byte backup form", typ)
		}
	}
}

// testConcurrent uses one key of each type from many goroutines.
func testConcurrent(t *testing.T, dev device.Device) {
	aead := generate(t, dev, device.SM4).(device.AEAD)
	hm := generate(t, dev, device.HMACSM3)
	sk := generate(t, dev, device.SM2).(device.Signer)
	want := mac(t, hm, nil, []byte("m"))
	e, err := device.SM2Digest(sk.Public(), nil, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				s, err := aead.Seal(ctx, nil, dev.Random(), []byte("m"), nil)
				if err == nil {
					_, err = aead.Open(ctx, nil, s, nil)
				}
				if m, merr := hm.(device.MAC).MAC(ctx, nil, []byte("m")); merr != nil || !bytes.Equal(m, want) {
					err = errors.Join(err, errors.New("a concurrent MAC differs"), merr)
				}
				if sig, serr := sk.Sign(ctx, e); serr != nil || !device.VerifySM2(sk.Public(), e, sig) {
					err = errors.Join(err, errors.New("a concurrent signature does not verify"), serr)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testKnownSM4 checks SM4 through the device against GB/T 32907 and
// RFC 8998. The device offers no raw block encryption; for a one-block
// message M, SM4-CMAC is E_K(M XOR K1) with K1 = dbl(E_K(0)), so the MAC
// of P XOR K1 must be the standard's E_K(P).
func testKnownSM4(t *testing.T, dev device.Device) {
	v := LoadVectors(t)
	for _, sv := range v.SM4 {
		if sv.Iterations != 1 {
			continue
		}
		k := importKey(t, dev, device.SM4, sv.Key)
		block, err := sm4.NewCipher(sv.Key)
		if err != nil {
			t.Fatal(err)
		}
		l := make([]byte, 16)
		block.Encrypt(l, l)
		m := dbl(l)
		for i := range m {
			m[i] ^= sv.Plaintext[i]
		}
		if got := mac(t, k, nil, m); !bytes.Equal(got, sv.Ciphertext) {
			t.Errorf("%s: E_K(P) through the device = %x, want %x", sv.Source, got, sv.Ciphertext)
		}
	}
	for _, gv := range v.SM4GCM {
		k := importKey(t, dev, device.SM4, gv.Key).(device.AEAD)
		sealed := append(bytes.Clone(gv.Nonce), gv.Sealed...)
		if pt, err := k.Open(ctx, nil, sealed, gv.AAD); err != nil || !bytes.Equal(pt, gv.Plaintext) {
			t.Errorf("%s: Open = %x, %v", gv.Source, pt, err)
		}
		fixed := bytes.NewReader(gv.Nonce)
		if got, err := k.Seal(ctx, nil, fixed, gv.Plaintext, gv.AAD); err != nil || !bytes.Equal(got, sealed) {
			t.Errorf("%s: Seal with the vector's nonce = %x, %v", gv.Source, got, err)
		}
	}
}

// dbl doubles a 128-bit block in GF(2^128) as in NIST SP 800-38B.
func dbl(b []byte) []byte {
	out := make([]byte, 16)
	carry := b[0] >> 7
	for i := range 15 {
		out[i] = b[i]<<1 | b[i+1]>>7
	}
	out[15] = b[15] << 1
	if carry == 1 {
		out[15] ^= 0x87
	}
	return out
}

func testKnownMAC(t *testing.T, dev device.Device) {
	v := LoadVectors(t)
	for _, tc := range []struct {
		typ     device.KeyType
		vectors []MACVector
	}{{device.HMACSM3, v.HMACSM3}, {device.SM4, v.SM4CMAC}} {
		for _, mv := range tc.vectors {
			k := importKey(t, dev, tc.typ, mv.Key)
			if got := mac(t, k, nil, mv.Message); !hmac.Equal(got, mv.MAC) {
				t.Errorf("%s: got %x, want %x", mv.Source, got, mv.MAC)
			}
		}
	}
}

// testKnownSM2 imports the GM/T 0003.5 example key: it must have the
// standard's public key, verify the standard's signature and decrypt the
// standard's ciphertext.
func testKnownSM2(t *testing.T, dev device.Device) {
	v := LoadVectors(t).SM2
	k := importKey(t, dev, device.SM2, v.PrivateKey)
	pub := k.(device.Signer).Public()
	point, err := sm2.PublicKeyToECDH(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(point.Bytes(), v.PublicKey) {
		t.Fatalf("public key from the private key differs from the standard's")
	}
	e, err := device.SM2Digest(pub, v.UID, v.Message)
	if err != nil || !bytes.Equal(e, v.E) {
		t.Fatalf("e = %x, %v; want %x", e, err, v.E)
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(v.R), new(big.Int).SetBytes(v.S)})
	if err != nil {
		t.Fatal(err)
	}
	if !device.VerifySM2(pub, e, der) {
		t.Fatal("the standard's signature does not verify")
	}
	sig, err := k.(device.Signer).Sign(ctx, e)
	if err != nil || !device.VerifySM2(pub, e, sig) {
		t.Fatalf("the device's signature with the standard's key does not verify: %v", err)
	}
	pt, err := k.(device.Decrypter).Decrypt(ctx, v.EncryptCiphertext)
	if err != nil || !bytes.Equal(pt, v.EncryptPlaintext) {
		t.Fatalf("decrypting the standard's ciphertext: %q, %v", pt, err)
	}
}
