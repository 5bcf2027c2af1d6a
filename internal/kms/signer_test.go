package kms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

func mustSigner(t *testing.T, s *Service, tenant, key string) crypto.Signer {
	t.Helper()
	sg, err := s.Signer(ctx, tenant, key)
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

func TestSignerMakesCertificatesAndCRLs(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "ca", device.SM2)
	sg := mustSigner(t, s, "acme", "ca")
	now := time.Now()
	tmpl := &smx509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: now, NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, SubjectKeyId: []byte{1, 2, 3},
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign, SignatureAlgorithm: smx509.SM2WithSM3,
	}
	tmpl.Subject.CommonName = "kms signer"
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, sg.Public(), sg)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Errorf("self-signed certificate does not verify: %v", err)
	}
	crlDER, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(time.Hour),
	}, cert, sg)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.ParseRevocationList(crlDER)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(cert); err != nil {
		t.Errorf("CRL does not verify: %v", err)
	}
}

func TestSignerOptions(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM2)
	sg := mustSigner(t, s, "acme", "k")
	pub := sg.Public().(*ecdsa.PublicKey)
	msg := []byte("to be signed")
	e, err := device.SM2Digest(pub, nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		digest []byte
		opts   crypto.SignerOpts
		uid    []byte // identity the signature verifies under, over msg
	}{
		{"default options", msg, sm2.DefaultSM2SignerOpts, []byte(device.DefaultUID)},
		{"custom uid", msg, &MessageOpts{UID: []byte("alice@example.com")}, []byte("alice@example.com")},
		{"message, default uid", msg, &MessageOpts{}, []byte(device.DefaultUID)},
		{"e-value, hash 0", e, crypto.Hash(0), []byte(device.DefaultUID)},
		{"e-value, nil opts", e, nil, []byte(device.DefaultUID)},
	} {
		sig, err := sg.Sign(rand.Reader, tc.digest, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !sm2.VerifyASN1WithSM2(pub, tc.uid, msg, sig) {
			t.Errorf("%s: signature does not verify under uid %q", tc.name, tc.uid)
		}
	}
	if _, err := sg.Sign(rand.Reader, msg, crypto.Hash(0)); !fault.Is(err, fault.InvalidArgument) {
		t.Errorf("a message given as an e-value: got %v, want invalid_argument", err)
	}
	// gmsm keeps an option's identity unexported: one the Signer cannot
	// read is refused, never signed under a guessed identity.
	for _, opts := range []crypto.SignerOpts{sm2.NewSM2SignerOption(true, []byte("alice@example.com")), sm2.NewSM2SignerOption(false, nil)} {
		if _, err := sg.Sign(rand.Reader, msg, opts); !fault.Is(err, fault.InvalidArgument) {
			t.Errorf("an sm2.SM2SignerOption other than the default: got %v, want invalid_argument", err)
		}
	}
}

func TestSignerKeepsItsVersionAndFollowsState(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM2)
	sg := mustSigner(t, s, "acme", "k")
	if _, err := s.Rotate(ctx, "acme", "k"); err != nil {
		t.Fatal(err)
	}
	pub := sg.Public().(*ecdsa.PublicKey)
	sig, err := sg.Sign(nil, []byte("m"), sm2.DefaultSM2SignerOpts)
	if err != nil || !sm2.VerifyASN1WithSM2(pub, nil, []byte("m"), sig) {
		t.Fatalf("signer made before a rotation: sig %x, %v", sig, err)
	}
	if _, err := s.Disable(ctx, "acme", "k"); err != nil {
		t.Fatal(err)
	}
	_, err = sg.Sign(nil, []byte("m"), sm2.DefaultSM2SignerOpts)
	wantCode(t, "sign with a disabled key", err, fault.KeyDisabled)
}

func TestSignerErrors(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "sym", device.SM4)
	for _, tc := range []struct {
		tenant, key string
		code        fault.Code
	}{
		{"acme", "sym", fault.KeyTypeMismatch},
		{"acme", "absent", fault.KeyNotFound},
		{"other", "sym", fault.KeyNotFound},
	} {
		_, err := s.Signer(ctx, tc.tenant, tc.key)
		wantCode(t, tc.tenant+"/"+tc.key, err, tc.code)
	}
}
