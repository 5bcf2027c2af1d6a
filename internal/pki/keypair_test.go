package pki

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"testing"

	"github.com/emmansun/gmsm/cfca"
	"github.com/emmansun/gmsm/pkcs8"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

func TestIssueKeyPair(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	receiver, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	password := []byte("correct horse battery")
	for _, tc := range []struct {
		format KeyFormat
		req    KeyPairRequest
		open   func(key []byte) (*sm2.PrivateKey, error)
	}{
		{Enveloped, KeyPairRequest{WrappingKey: pubPEM(t, &receiver.PublicKey)}, func(k []byte) (*sm2.PrivateKey, error) {
			return sm2.ParseEnvelopedPrivateKey(receiver, k)
		}},
		{PKCS8, KeyPairRequest{Password: password}, func(k []byte) (*sm2.PrivateKey, error) {
			return pkcs8.ParsePKCS8PrivateKeySM2(k, password)
		}},
		{CFCA, KeyPairRequest{Password: password}, func(k []byte) (*sm2.PrivateKey, error) {
			priv, _, err := cfca.ParseSM2(password, k)
			return priv, err
		}},
	} {
		req := tc.req
		req.Format, req.Subject = tc.format, Name{CommonName: "device-42"}
		kp, err := e.s.IssueKeyPair(ctx, tenant, "root", req)
		if err != nil {
			t.Fatalf("%s: %v", tc.format, err)
		}
		priv, err := tc.open(kp.PrivateKey)
		if err != nil {
			t.Fatalf("%s: the key does not open: %v", tc.format, err)
		}
		if !priv.PublicKey.Equal(parseCert(t, kp.Certificate.DER).PublicKey) || kp.Format != tc.format || kp.Certificate.Kind != Generated {
			t.Errorf("%s: the key is not the certificate's (%+v)", tc.format, kp.Certificate)
		}
	}
	if _, err := pkcs8.ParsePKCS8PrivateKeySM2(mustKeyPair(t, e, KeyPairRequest{Format: PKCS8, Password: password}), []byte("wrong password")); err == nil {
		t.Error("the PKCS#8 key opens with a wrong password")
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, err := smx509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaDER}))
	for _, tc := range []struct {
		name string
		req  KeyPairRequest
		code fault.Code
	}{
		{"unknown format", KeyPairRequest{Format: "pkcs12", Password: password}, fault.InvalidArgument},
		{"short password", KeyPairRequest{Format: PKCS8, Password: []byte("short")}, fault.InvalidArgument},
		{"password and wrapping key", KeyPairRequest{Format: Enveloped, WrappingKey: pubPEM(t, &receiver.PublicKey), Password: password}, fault.InvalidArgument},
		{"no wrapping key", KeyPairRequest{Format: Enveloped}, fault.InvalidArgument},
		{"RSA wrapping key", KeyPairRequest{Format: Enveloped, WrappingKey: rsaPEM}, fault.NotSM2},
	} {
		tc.req.Subject = Name{CommonName: "x"}
		_, err := e.s.IssueKeyPair(ctx, tenant, "root", tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
}

func mustKeyPair(t *testing.T, e *env, req KeyPairRequest) []byte {
	t.Helper()
	req.Subject = Name{CommonName: "x"}
	kp, err := e.s.IssueKeyPair(ctx, tenant, "root", req)
	if err != nil {
		t.Fatal(err)
	}
	return kp.PrivateKey
}

func TestIssueDual(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	csr, signKey := newCSR(t, "Zhang San", "zhang.example.com")
	d, err := e.s.IssueDual(ctx, tenant, "root", DualRequest{CSR: csr})
	if err != nil {
		t.Fatal(err)
	}
	sc, ec := parseCert(t, d.Signing.DER), parseCert(t, d.Encryption.DER)
	switch {
	case !signKey.PublicKey.Equal(sc.PublicKey):
		t.Error("the signing certificate is not for the CSR's key")
	case sc.KeyUsage != smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment:
		t.Errorf("signing key usage %b", sc.KeyUsage)
	case ec.KeyUsage != smx509.KeyUsageKeyEncipherment|smx509.KeyUsageDataEncipherment|smx509.KeyUsageKeyAgreement:
		t.Errorf("encryption key usage %b", ec.KeyUsage)
	case d.Signing.Pair != d.Encryption.Serial || d.Encryption.Pair != d.Signing.Serial:
		t.Errorf("pair links %s / %s", d.Signing.Pair, d.Encryption.Pair)
	case d.Signing.Kind != DualSigning || d.Encryption.Kind != DualEncryption || string(sc.RawSubject) != string(ec.RawSubject):
		t.Errorf("kinds %s/%s, subjects %s/%s", d.Signing.Kind, d.Encryption.Kind, sc.Subject, ec.Subject)
	case d.Encryption.EscrowKey != "enc-"+d.Encryption.Serial:
		t.Errorf("escrow key %q", d.Encryption.EscrowKey)
	}
	encKey, err := sm2.ParseEnvelopedPrivateKey(signKey, d.EnvelopedKey)
	if err != nil {
		t.Fatalf("the subscriber cannot open the encryption key: %v", err)
	}
	if !encKey.PublicKey.Equal(ec.PublicKey) {
		t.Error("the enveloped key is not the encryption certificate's")
	}
	info, err := e.keys.Get(ctx, tenant, d.Encryption.EscrowKey)
	if err != nil || !info.Exportable || info.Tags["pki-certificate"] != d.Encryption.Serial {
		t.Errorf("escrowed key %+v, %v", info, err)
	}
	escrow, err := e.keys.Signer(ctx, tenant, d.Encryption.EscrowKey)
	if err != nil || !escrow.Public().(*ecdsa.PublicKey).Equal(ec.PublicKey) {
		t.Errorf("the escrowed key is not the encryption certificate's: %v", err)
	}

	_, err = e.s.IssueDual(ctx, tenant, "root", DualRequest{CSR: csr, Profile: DefaultEncryptionProfile})
	wantCode(t, "an encryption profile for the signing certificate", err, fault.ProfileViolation)
	_, err = e.s.IssueDual(ctx, tenant, "root", DualRequest{CSR: csr, EncryptionProfile: DefaultProfile})
	wantCode(t, "a signing profile for the encryption certificate", err, fault.ProfileViolation)
	page, err := e.s.Search(ctx, tenant, SearchRequest{Subject: "Zhang San"})
	if err != nil || len(page.Certificates) != 2 {
		t.Errorf("certificates after refused pairs: %d, %v; want the first pair only", len(page.Certificates), err)
	}
}
