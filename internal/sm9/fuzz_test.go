package sm9

import (
	"context"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
)

// FuzzParsers feeds every SM9 parser mima exposes to input from outside:
// master public keys, signatures, ciphertexts, encapsulations, key
// exchange points and stored user keys. None may panic, and none may
// accept what does not verify or decrypt.
func FuzzParsers(f *testing.F) {
	ctx := context.Background()
	dev := device.NewSoftware()
	e, err := dev.Generate(ctx, device.SM9EncMaster)
	if err != nil {
		f.Fatal(err)
	}
	em, _ := dev.Open(ctx, device.SM9EncMaster, e)
	stored, _ := em.(device.SM9Master).Extract(ctx, []byte("id"), device.SM9EncHID)
	user, _ := dev.Open(ctx, device.SM9EncUser, stored)
	pub, _ := ParseEncMaster(em.(device.SM9Master).MasterPublicKey())
	ct, _ := EncryptTo(dev.Random(), pub, []byte("id"), device.SM9EncHID, []byte("m"), device.SM9SM4CBC)
	f.Add(ct)
	f.Add(stored)
	f.Add(em.(device.SM9Master).MasterPublicKey())
	f.Fuzz(func(t *testing.T, b []byte) {
		d := user.(device.SM9Decrypter)
		_, _ = d.Decrypt(ctx, []byte("id"), b)
		_, _ = d.Decapsulate(ctx, []byte("id"), b, 16)
		_, _, _, _ = d.Respond(ctx, []byte("id"), []byte("peer"), b, 16)
		_, _ = ParseSignMaster(b)
		_, _ = ParseEncMaster(b)
		for _, typ := range []device.KeyType{device.SM9SignUser, device.SM9EncUser, device.SM9SignMaster} {
			_, _ = dev.Open(ctx, typ, b)
		}
		if sp, err := ParseSignMaster(b); err == nil && VerifyWith(sp, []byte("id"), 1, []byte("m"), b) {
			t.Fatal("a master public key verified itself as a signature")
		}
	})
}
