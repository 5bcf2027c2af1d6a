package kms

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/device"
)

// benchService returns a service with one key of each type, each used once
// so that it is cached.
func benchService(b *testing.B) *Service {
	b.Helper()
	s, _, _ := newTestService(b)
	mustCreate(b, s, "acme", "sym", device.SM4)
	mustCreate(b, s, "acme", "asym", device.SM2)
	mustCreate(b, s, "acme", "mac", device.HMACSM3)
	for _, k := range []string{"sym", "asym", "mac"} {
		if _, err := s.lookup(ctx, "acme", k); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

var msg64 = make([]byte, 64)

func BenchmarkEncrypt64(b *testing.B) {
	s := benchService(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Encrypt(ctx, "acme", "sym", EncryptRequest{Plaintext: msg64}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncrypt64Parallel(b *testing.B) {
	s := benchService(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Encrypt(ctx, "acme", "sym", EncryptRequest{Plaintext: msg64}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkDecrypt64(b *testing.B) {
	s := benchService(b)
	ct := mustEncrypt(b, s, "acme", "sym", EncryptRequest{Plaintext: msg64})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Decrypt(ctx, "acme", "sym", DecryptRequest{Ciphertext: ct}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	s := benchService(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(ctx, "acme", "asym", SignRequest{Input: msg64}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	s := benchService(b)
	sig, err := s.Sign(ctx, "acme", "asym", SignRequest{Input: msg64})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := s.Verify(ctx, "acme", "asym", VerifyRequest{Input: msg64, Signature: sig.Signature}); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkMAC(b *testing.B) {
	s := benchService(b)
	for _, key := range []string{"mac", "sym"} {
		b.Run(key, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.MAC(ctx, "acme", key, MACRequest{Input: msg64}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDataKey(b *testing.B) {
	s := benchService(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.DataKey(ctx, "acme", "sym", DataKeyRequest{Kind: DataKeySM4, WithPlaintext: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptBatch100(b *testing.B) {
	s := benchService(b)
	items := make([]EncryptRequest, 100)
	for i := range items {
		items[i].Plaintext = msg64
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.EncryptBatch(ctx, "acme", "sym", items); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncryptManyKeys encrypts 64 bytes with a store of 10 keys and
// of 1,000,000 keys (set MIMA_BENCH_1M=1; the store is written directly,
// which takes a few seconds and about 500 MB; 100,000 cached sm4 keys take
// about 130 MB more). "hot" cycles over 1,000 keys (or all of 10), which
// stay cached; "uniform" picks any stored key, so with 1,000,000 keys and
// the default cache of 100,000 most operations load the key from storage.
func BenchmarkEncryptManyKeys(b *testing.B) {
	for _, n := range []int{10, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			if n > 10 && (testing.Short() || os.Getenv("MIMA_BENCH_1M") == "") {
				b.Skip("set MIMA_BENCH_1M=1 to build a store of 1,000,000 keys")
			}
			s, st, _ := newTestService(b)
			names := make([]string, n)
			now := time.Now().UTC()
			for i := range names {
				names[i] = fmt.Sprintf("key-%07d", i)
				material, err := s.generate(ctx, device.SM4)
				if err != nil {
					b.Fatal(err)
				}
				r := &record{Name: names[i], Type: device.SM4, State: Enabled, CreatedAt: now, UpdatedAt: now, MinDecryptionVersion: 1, MinEncryptionVersion: 1}
				r.addVersion(material, now)
				if err := save(ctx, st, "acme", r, ""); err != nil {
					b.Fatal(err)
				}
			}
			for _, mode := range []string{"hot", "uniform"} {
				b.Run(mode, func(b *testing.B) {
					set := names
					if mode == "hot" {
						set = names[:min(n, 1000)]
					}
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						key := set[i%len(set)]
						if mode == "uniform" {
							key = set[rand.IntN(len(set))]
						}
						i++
						if _, err := s.Encrypt(ctx, "acme", key, EncryptRequest{Plaintext: msg64}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
