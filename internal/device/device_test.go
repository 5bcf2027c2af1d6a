package device_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/devicetest"
)

var ctx = context.Background()

func TestSoftwareConformance(t *testing.T) {
	dev := device.NewSoftware()
	devicetest.Run(t, func(*testing.T) device.Device { return dev })
}

func open(t *testing.T, dev device.Device, typ device.KeyType) device.Key {
	t.Helper()
	m, err := dev.Generate(ctx, typ)
	if err != nil {
		t.Fatal(err)
	}
	k, err := dev.Open(ctx, typ, m)
	if err != nil {
		t.Fatal(err)
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
		a, err := dev.Generate(ctx, tc.typ)
		if err != nil {
			t.Fatal(err)
		}
		b, err := dev.Generate(ctx, tc.typ)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != tc.size || len(b) != tc.size || bytes.Equal(a, b) {
			t.Errorf("%s: material of %d and %d bytes, equal=%v; want two different %d-byte keys", tc.typ, len(a), len(b), bytes.Equal(a, b), tc.size)
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
		_, err := dev.Open(ctx, tc.typ, tc.material)
		var me *device.MaterialError
		if !errors.Is(err, device.ErrInvalidMaterial) || !errors.As(err, &me) || me.Rule == "" {
			t.Errorf("%s: %v, want a MaterialError", tc.name, err)
		}
		if _, err := dev.Restore(ctx, tc.typ, tc.material); !errors.Is(err, device.ErrInvalidMaterial) {
			t.Errorf("%s: Restore: %v, want ErrInvalidMaterial", tc.name, err)
		}
	}
}

func TestDerive(t *testing.T) {
	dev := device.NewSoftware()
	material := bytes.Repeat([]byte{7}, device.SM4KeySize)
	k, err := dev.Open(ctx, device.SM4, material)
	if err != nil {
		t.Fatal(err)
	}
	child, err := k.(device.Deriver).Derive(ctx, []byte("info"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := child.(device.Extractable).Extract(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// KDF(Z, 16) is the first 16 bytes of SM3(Z || counter 1).
	want := sm3.Sum(append(append(bytes.Clone(material), "info"...), 0, 0, 0, 1))
	if !bytes.Equal(a, want[:16]) {
		t.Fatalf("Derive = %x, want %x", a, want[:16])
	}
}

// TestSoftwareStoresRawKeys pins the Software device's stored and backup
// forms to the raw key: key records and backups written by earlier
// versions hold exactly that.
func TestSoftwareStoresRawKeys(t *testing.T) {
	dev := device.NewSoftware()
	raw := bytes.Repeat([]byte{9}, device.SM4KeySize)
	b, err := dev.Backup(ctx, device.SM4, raw)
	if err != nil || !bytes.Equal(b, raw) {
		t.Fatalf("Backup = %x, %v; want the raw key", b, err)
	}
	k := open(t, dev, device.SM2)
	wk := k.(device.Signer)
	wrapped, err := sm2.EncryptASN1(rand.Reader, wk.Public(), raw)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := dev.Unwrap(ctx, k, device.SM4, wrapped)
	if err != nil || !bytes.Equal(stored, raw) {
		t.Fatalf("Unwrap = %x, %v; want the raw key", stored, err)
	}
}
