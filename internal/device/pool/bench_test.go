package pool_test

import (
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/pool"
)

// BenchmarkDevice runs each operation through the software device alone,
// a pool of one software device and a pool of two (docs/performance.md).
func BenchmarkDevice(b *testing.B) {
	mk := func(names ...string) device.Device {
		ms := make([]pool.Member, len(names))
		for i, n := range names {
			ms[i] = soft(n)
		}
		p, err := pool.New(ms)
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		dev  device.Device
	}{
		{"software", device.NewSoftware()},
		{"pool1", mk("soft0")},
		{"pool2", mk("soft0", "soft1")},
	} {
		b.Run(tc.name, func(b *testing.B) { benchOps(b, tc.dev) })
	}
}

func benchOps(b *testing.B, dev device.Device) {
	ctx := b.Context()
	open := func(t device.KeyType) device.Key {
		stored, err := dev.Generate(ctx, t)
		if err != nil {
			b.Fatal(err)
		}
		k, err := dev.Open(ctx, t, stored)
		if err != nil {
			b.Fatal(err)
		}
		return k
	}
	sm4, hm, sm2 := open(device.SM4), open(device.HMACSM3), open(device.SM2)
	msg := make([]byte, 64)
	e := make([]byte, 32)
	sealed, err := sm4.(device.AEAD).Seal(ctx, nil, dev.Random(), msg, nil)
	if err != nil {
		b.Fatal(err)
	}
	stored, err := dev.Generate(ctx, device.SM4)
	if err != nil {
		b.Fatal(err)
	}
	for _, op := range []struct {
		name string
		fn   func() error
	}{
		{"seal64", func() error { _, err := sm4.(device.AEAD).Seal(ctx, nil, dev.Random(), msg, nil); return err }},
		{"open64", func() error { _, err := sm4.(device.AEAD).Open(ctx, nil, sealed, nil); return err }},
		{"cmac64", func() error { _, err := sm4.(device.MAC).MAC(ctx, nil, msg); return err }},
		{"hmac64", func() error { _, err := hm.(device.MAC).MAC(ctx, nil, msg); return err }},
		{"sign", func() error { _, err := sm2.(device.Signer).Sign(ctx, e); return err }},
		{"generate-sm4", func() error { _, err := dev.Generate(ctx, device.SM4); return err }},
		{"open-sm4", func() error { _, err := dev.Open(ctx, device.SM4, stored); return err }},
	} {
		b.Run(op.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := op.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
