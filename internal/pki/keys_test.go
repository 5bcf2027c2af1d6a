package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
)

// fakeKeys is a key service that answers as the real one, except that
// PublicKey returns pub and Signer fails with signErr when they are set.
type fakeKeys struct {
	Keys
	pub     crypto.PublicKey
	signErr error
}

func (f fakeKeys) PublicKey(ctx context.Context, tenant, ref string, version int) (kms.PublicKey, error) {
	if f.pub == nil {
		return f.Keys.PublicKey(ctx, tenant, ref, version)
	}
	return kms.PublicKey{Key: f.pub, Version: version}, nil
}

func (f fakeKeys) Signer(ctx context.Context, tenant, ref string) (crypto.Signer, error) {
	if f.signErr != nil {
		return nil, f.signErr
	}
	return f.Keys.Signer(ctx, tenant, ref)
}

// withKeys returns a CA service over keys and the env's store.
func (e *env) withKeys(t *testing.T, keys Keys) *Service {
	t.Helper()
	s := New(keys, WithClock(e.clock.Now), WithPBKDF2Iterations(1000))
	if err := s.Unsealed(ctx, e.store); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestIssueCertifiesTheKeyServicesPublicKey: Issue certifies the public
// key the key service gives as it is, no encoding in between, and refuses
// one that is not SM2 without issuing anything.
func TestIssueCertifiesTheKeyServicesPublicKey(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	if _, err := e.keys.Create(ctx, tenant, kms.CreateRequest{Name: "signer", Type: device.SM2}); err != nil {
		t.Fatal(err)
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := e.withKeys(t, fakeKeys{Keys: e.keys, pub: &p256.PublicKey})
	_, err = s.Issue(ctx, tenant, "root", IssueRequest{Key: "signer", Subject: Name{CommonName: "x"}})
	wantCode(t, "a P-256 public key", err, fault.NotSM2)
	_, err = s.CertificateForKey(ctx, tenant, "signer")
	wantCode(t, "after the refusal", err, fault.CertificateNotFound)
}

// TestKeyServiceFailuresReachTheCaller: when the key service cannot sign,
// its error reaches the caller unchanged and no certificate is issued.
func TestKeyServiceFailuresReachTheCaller(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	s := e.withKeys(t, fakeKeys{Keys: e.keys, signErr: fault.New(fault.DeviceUnavailable, "the device cannot be reached")})
	der, _ := newCSR(t, "leaf")
	_, err := s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: der})
	wantCode(t, "signing with the device down", err, fault.DeviceUnavailable)
	page, err := s.Search(ctx, tenant, SearchRequest{})
	if err != nil || len(page.Certificates) != 1 {
		t.Errorf("certificates after the failure: %d, %v; want only the root's", len(page.Certificates), err)
	}
}
