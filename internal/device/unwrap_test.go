package device_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/device"
)

// FuzzUnwrapEnvelope feeds arbitrary bytes to the sm2 unwrap path, which
// parses them before any authentication: it must answer ErrUnwrap or
// ErrInvalidMaterial, never panic, and accept only a valid key.
func FuzzUnwrapEnvelope(f *testing.F) {
	dev := device.NewSoftware()
	wk, err := dev.Open(ctx, device.SM2, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	pair, err := sm2.NewPrivateKey(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		f.Fatal(err)
	}
	valid, err := sm2.MarshalEnvelopedPrivateKey(rand.Reader, wk.(device.Signer).Public(), pair)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, env []byte) {
		m, err := dev.Unwrap(ctx, wk, device.SM2, env)
		if err != nil {
			if !errors.Is(err, device.ErrUnwrap) && !errors.Is(err, device.ErrInvalidMaterial) {
				t.Fatalf("error neither ErrUnwrap nor ErrInvalidMaterial: %v", err)
			}
			return
		}
		if _, err := sm2.NewPrivateKey(m); err != nil || len(m) != 32 {
			t.Fatalf("accepted invalid material %x: %v", m, err)
		}
	})
}
