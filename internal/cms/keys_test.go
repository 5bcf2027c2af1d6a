package cms

import (
	"context"
	"crypto"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
)

// busyKeys is a key service whose device is busy: signers and decrypters
// cannot be had.
type busyKeys struct{ Keys }

var errBusy = fault.New(fault.DeviceBusy, "the device is busy")

func (busyKeys) Signer(context.Context, string, string) (crypto.Signer, error) { return nil, errBusy }

func (busyKeys) Decrypter(context.Context, string, string) (crypto.Decrypter, error) {
	return nil, errBusy
}

// TestKeyServiceFailuresReachTheCaller: when the key service cannot sign
// or decrypt, its error reaches the caller unchanged, not as a failure of
// the signature or the envelope.
func TestKeyServiceFailuresReachTheCaller(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	alice := e.key(t, "root", "alice", forEncryption)
	e.key(t, "root", "signer")
	der, err := e.s.Encrypt(EnvelopeRequest{Recipients: []string{alice.PEM()}, Content: []byte("secret")})
	if err != nil {
		t.Fatal(err)
	}
	s := New(busyKeys{e.keys}, e.ca, WithClock(e.clock.Now))
	if err := s.Unsealed(ctx, e.store); err != nil {
		t.Fatal(err)
	}
	_, err = s.Decrypt(ctx, tenant, DecryptRequest{CMS: der, Key: "alice"})
	wantCode(t, "decrypting with a busy device", err, fault.DeviceBusy)
	_, err = s.Sign(ctx, tenant, SignRequest{SignerOptions: SignerOptions{Key: "signer"}, Content: []byte("x")})
	wantCode(t, "signing with a busy device", err, fault.DeviceBusy)
}
