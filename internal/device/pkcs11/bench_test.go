//go:build cgo && linux

package pkcs11

import (
	"bytes"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
)

// BenchmarkDevice measures each operation through the Software device and
// through SoftHSM2 in wrapped mode (one token round trip to open the key,
// plus the in-process operation). docs/performance.md has a run.
func BenchmarkDevice(b *testing.B) {
	for _, dev := range []struct {
		name string
		open func(b *testing.B) device.Device
	}{
		{"software", func(*testing.B) device.Device { return device.NewSoftware() }},
		{"softhsm2", func(b *testing.B) device.Device { return newDevice(b, "mima") }},
	} {
		b.Run(dev.name, func(b *testing.B) {
			d := dev.open(b)
			keys := map[device.KeyType]device.Key{}
			stored := map[device.KeyType][]byte{}
			for _, typ := range []device.KeyType{device.SM4, device.SM2, device.HMACSM3} {
				s, err := d.Generate(ctx, typ)
				if err != nil {
					b.Fatal(err)
				}
				if keys[typ], err = d.Open(ctx, typ, s); err != nil {
					b.Fatal(err)
				}
				stored[typ] = s
			}
			msg := bytes.Repeat([]byte{1}, 1024)
			digest := make([]byte, 32)
			for _, op := range []struct {
				name string
				fn   func() error
			}{
				{"generate-sm4", func() error { _, err := d.Generate(ctx, device.SM4); return err }},
				{"open-sm4", func() error { _, err := d.Open(ctx, device.SM4, stored[device.SM4]); return err }},
				{"sm4-gcm-seal-1KiB", func() error {
					_, err := keys[device.SM4].(device.AEAD).Seal(ctx, nil, d.Random(), msg, nil)
					return err
				}},
				{"hmac-sm3-1KiB", func() error { _, err := keys[device.HMACSM3].(device.MAC).MAC(ctx, nil, msg); return err }},
				{"sm2-sign", func() error { _, err := keys[device.SM2].(device.Signer).Sign(ctx, digest); return err }},
			} {
				b.Run(op.name, func(b *testing.B) {
					for b.Loop() {
						if err := op.fn(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
