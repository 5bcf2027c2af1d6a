package sm9

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm9"
)

// BenchmarkRaw measures gmsm's SM9 primitives alone on GOMAXPROCS
// goroutines, the ceiling that docs/performance.md compares mima's API
// with.
func BenchmarkRaw(b *testing.B) {
	sm, err := sm9.GenerateSignMasterKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	em, err := sm9.GenerateEncryptMasterKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	uid, msg := []byte("rtu-0042@field-7"), make([]byte, 32)
	su, err := sm.GenerateUserKey(uid, 1)
	if err != nil {
		b.Fatal(err)
	}
	eu, err := em.GenerateUserKey(uid, 3)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := sm9.SignASN1(rand.Reader, su, msg)
	if err != nil {
		b.Fatal(err)
	}
	ct, err := sm9.EncryptASN1(rand.Reader, em.PublicKey(), uid, 3, msg, sm9.DefaultEncrypterOpts)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		op   func() error
	}{
		{"extract", func() error { _, err := sm.GenerateUserKey(uid, 1); return err }},
		{"sign", func() error { _, err := sm9.SignASN1(rand.Reader, su, msg); return err }},
		{"verify", func() error {
			if !sm9.VerifyASN1(sm.PublicKey(), uid, 1, msg, sig) {
				return errors.New("not valid")
			}
			return nil
		}},
		{"encrypt", func() error {
			_, err := sm9.EncryptASN1(rand.Reader, em.PublicKey(), uid, 3, msg, sm9.DefaultEncrypterOpts)
			return err
		}},
		{"decrypt", func() error { _, err := sm9.DecryptASN1(eu, uid, ct); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.op(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
