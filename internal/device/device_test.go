package device_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/device"
)

func open(t *testing.T, dev device.Device, typ device.KeyType) device.Key {
	t.Helper()
	m, err := dev.Generate(typ)
	if err != nil {
		t.Fatal(err)
	}
	k, err := dev.Open(typ, m)
	if err != nil {
		t.Fatal(err)
	}
	if k.Type() != typ {
		t.Fatalf("opened %s key reports type %s", typ, k.Type())
	}
	return k
}

func TestGenerateSizesAndFreshness(t *testing.T) {
	dev := device.NewSoftware()
	for _, tc := range []struct {
		typ  device.KeyType
		size int
	}{
		{device.SM4, device.SM4KeySize},
		{device.SM2, device.SM2KeySize},
		{device.HMACSM3, device.HMACSM3KeySize},
	} {
		a, err := dev.Generate(tc.typ)
		if err != nil {
			t.Fatal(err)
		}
		b, err := dev.Generate(tc.typ)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != tc.size || len(b) != tc.size || bytes.Equal(a, b) {
			t.Errorf("%s: material of %d and %d bytes, equal=%v; want two different %d-byte keys", tc.typ, len(a), len(b), bytes.Equal(a, b), tc.size)
		}
	}
}

func TestUnsupportedTypes(t *testing.T) {
	dev := device.NewSoftware()
	for _, typ := range []device.KeyType{"zuc", "sm9-sign", "sm9-encrypt", "rsa", "", "SM4"} {
		if _, err := dev.Generate(typ); !errors.Is(err, device.ErrUnsupportedType) {
			t.Errorf("Generate(%q): %v, want ErrUnsupportedType", typ, err)
		}
		if _, err := dev.Open(typ, make([]byte, 16)); !errors.Is(err, device.ErrUnsupportedType) {
			t.Errorf("Open(%q): %v, want ErrUnsupportedType", typ, err)
		}
	}
}

func TestOpenRejectsBadMaterial(t *testing.T) {
	dev := device.NewSoftware()
	n := sm2.P256().Params().N.FillBytes(make([]byte, 32))
	for _, tc := range []struct {
		name     string
		typ      device.KeyType
		material []byte
	}{
		{"sm4 short", device.SM4, make([]byte, 15)},
		{"sm4 long", device.SM4, make([]byte, 17)},
		{"sm2 short", device.SM2, make([]byte, 31)},
		{"sm2 zero", device.SM2, make([]byte, 32)},
		{"sm2 order", device.SM2, n},
		{"hmac short", device.HMACSM3, make([]byte, 15)},
		{"hmac long", device.HMACSM3, make([]byte, 65)},
	} {
		if _, err := dev.Open(tc.typ, tc.material); err == nil {
			t.Errorf("%s: opened", tc.name)
		}
	}
}

func TestAEAD(t *testing.T) {
	dev := device.NewSoftware()
	k := open(t, dev, device.SM4).(device.AEAD)
	pt, aad := []byte("attack at dawn"), []byte("context")
	prefix := []byte("prefix")
	sealed, err := k.Seal(bytes.Clone(prefix), dev.Random(), pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealed, prefix) || len(sealed) != len(prefix)+device.NonceSize+len(pt)+device.TagSize {
		t.Fatalf("sealed form has %d bytes", len(sealed))
	}
	sealed = sealed[len(prefix):]
	again, err := k.Seal(nil, dev.Random(), pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again[:device.NonceSize], sealed[:device.NonceSize]) {
		t.Fatal("two seals share a nonce")
	}
	got, err := k.Open([]byte("x"), sealed, aad)
	if err != nil || string(got) != "x"+string(pt) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other := open(t, dev, device.SM4).(device.AEAD)
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
		if _, err := tc.k.Open(nil, tc.sealed, tc.aad); !errors.Is(err, device.ErrDecrypt) {
			t.Errorf("%s: %v, want ErrDecrypt", tc.name, err)
		}
	}
}

func TestMACsDifferByKeyAndMessage(t *testing.T) {
	dev := device.NewSoftware()
	for _, typ := range []device.KeyType{device.SM4, device.HMACSM3} {
		k1, k2 := open(t, dev, typ).(device.MAC), open(t, dev, typ).(device.MAC)
		a, b := k1.MAC(nil, []byte("m")), k1.MAC(nil, []byte("m"))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: MAC is not deterministic", typ)
		}
		if bytes.Equal(a, k1.MAC(nil, []byte("n"))) || bytes.Equal(a, k2.MAC(nil, []byte("m"))) {
			t.Errorf("%s: MAC ignores the key or the message", typ)
		}
		if got := k1.MAC([]byte("p"), []byte("m")); !bytes.Equal(got, append([]byte("p"), a...)) {
			t.Errorf("%s: MAC does not append to dst", typ)
		}
	}
}

func TestDerive(t *testing.T) {
	material := bytes.Repeat([]byte{7}, device.SM4KeySize)
	k, err := device.NewSoftware().Open(device.SM4, material)
	if err != nil {
		t.Fatal(err)
	}
	d := k.(device.Deriver)
	a, err := d.Derive([]byte("info"))
	if err != nil {
		t.Fatal(err)
	}
	// KDF(Z, 16) is the first 16 bytes of SM3(Z || counter 1).
	want := sm3.Sum(append(append(bytes.Clone(material), "info"...), 0, 0, 0, 1))
	if !bytes.Equal(a, want[:16]) {
		t.Fatalf("Derive = %x, want %x", a, want[:16])
	}
	if b, _ := d.Derive([]byte("infO")); bytes.Equal(a, b) {
		t.Fatal("different info gave the same key")
	}
}

func TestSM2SignAndDecrypt(t *testing.T) {
	dev := device.NewSoftware()
	k := open(t, dev, device.SM2)
	signer := k.(crypto.Signer)
	pub := signer.Public().(*ecdsa.PublicKey)
	e, err := device.SM2Digest(pub, []byte("alice"), []byte("msg"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.Sign(dev.Random(), e, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	if !device.VerifySM2(pub, e, sig) || !sm2.VerifyASN1WithSM2(pub, []byte("alice"), []byte("msg"), sig) {
		t.Fatal("signature does not verify")
	}
	if device.VerifySM2(pub, e, append(bytes.Clone(sig), 0)) {
		t.Fatal("signature with trailing data verifies")
	}
	if _, err := signer.Sign(dev.Random(), e[:31], nil); err == nil {
		t.Fatal("signed a 31-byte digest")
	}
	if _, err := signer.Sign(dev.Random(), e, crypto.SHA256); err == nil {
		t.Fatal("signed with a hash option")
	}

	dec := k.(crypto.Decrypter)
	asn1CT, err := sm2.EncryptASN1(dev.Random(), pub, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	rawCT, err := sm2.Encrypt(dev.Random(), pub, []byte("secret"), sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
	if err != nil {
		t.Fatal(err)
	}
	for name, ct := range map[string][]byte{"asn1": asn1CT, "c1c3c2": rawCT} {
		if pt, err := dec.Decrypt(nil, ct, nil); err != nil || string(pt) != "secret" {
			t.Errorf("%s: Decrypt = %q, %v", name, pt, err)
		}
		bad := bytes.Clone(ct)
		bad[len(bad)-1] ^= 1
		if _, err := dec.Decrypt(nil, bad, nil); !errors.Is(err, device.ErrDecrypt) {
			t.Errorf("%s tampered: %v, want ErrDecrypt", name, err)
		}
	}
	if _, err := dec.Decrypt(nil, []byte("garbage"), nil); !errors.Is(err, device.ErrDecrypt) {
		t.Errorf("garbage: %v, want ErrDecrypt", err)
	}
}
