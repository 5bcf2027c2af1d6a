package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
)

func TestSignCSR(t *testing.T) {
	e := newEnv(t)
	root := e.root(t, "root")
	_, priv := newCSR(t, "unused")
	der := csrFor(t, priv, &smx509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "api.example.com", Organization: []string{"Acme"}},
		DNSNames: []string{"api.example.com"}, EmailAddresses: []string{"ops@example.com"}, IPAddresses: ips("10.0.0.1"),
	})
	for _, in := range [][]byte{der, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})} {
		c, err := e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: in, TTL: 30 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		cert := parseCert(t, c.DER)
		rc := parseCert(t, root.Certificate)
		if err := cert.CheckSignatureFrom(rc); err != nil {
			t.Errorf("not signed by the root: %v", err)
		}
		switch {
		case !priv.PublicKey.Equal(cert.PublicKey):
			t.Error("the certificate is not for the CSR's key")
		case cert.Subject.CommonName != "api.example.com" || c.Subject != cert.Subject.String():
			t.Errorf("subject %s, record %s", cert.Subject, c.Subject)
		case !slices.Equal(c.SANs.DNS, []string{"api.example.com"}) || !slices.Equal(c.SANs.IP, []string{"10.0.0.1"}) || !slices.Equal(c.SANs.Email, []string{"ops@example.com"}):
			t.Errorf("SANs %+v", c.SANs)
		case cert.KeyUsage != smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment || cert.IsCA:
			t.Errorf("key usage %b, CA %v", cert.KeyUsage, cert.IsCA)
		case !slices.Equal(cert.ExtKeyUsage, []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth, smx509.ExtKeyUsageClientAuth}):
			t.Errorf("extended key usage %v", cert.ExtKeyUsage)
		case !bytes.Equal(cert.AuthorityKeyId, rc.SubjectKeyId) || len(cert.SubjectKeyId) != 20:
			t.Errorf("AKI %x, SKI %x", cert.AuthorityKeyId, cert.SubjectKeyId)
		case !slices.Equal(cert.CRLDistributionPoints, []string{testConfig.CRLURL}) || !slices.Equal(cert.OCSPServer, []string{testConfig.OCSPURL}):
			t.Errorf("CDP %q, OCSP %q", cert.CRLDistributionPoints, cert.OCSPServer)
		case cert.NotAfter.Sub(cert.NotBefore) != 30*24*time.Hour || c.Kind != FromCSR || c.Profile != DefaultProfile || c.State != Valid:
			t.Errorf("validity %s to %s, record %+v", cert.NotBefore, cert.NotAfter, c)
		case c.Serial != serialString(cert.SerialNumber) || len(c.Serial) != 32:
			t.Errorf("serial %s, certificate %x", c.Serial, cert.SerialNumber)
		}
		got, err := e.s.GetCertificate(ctx, tenant, c.Serial)
		if err != nil || !bytes.Equal(got.DER, c.DER) {
			t.Errorf("GetCertificate(%s) = %v", c.Serial, err)
		}
	}
}

func TestSignCSRRefusals(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	good, _ := newCSR(t, "x")
	tampered := bytes.Clone(good)
	tampered[len(tampered)-5] ^= 1 // in the signature
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecCSR := csrFor(t, ecKey, &smx509.CertificateRequest{Subject: pkix.Name{CommonName: "p256"}})
	for _, tc := range []struct {
		name   string
		tenant string
		ca     string
		csr    []byte
		code   fault.Code
	}{
		{"bad signature", tenant, "root", tampered, fault.CSRInvalid},
		{"garbage", tenant, "root", []byte("not a CSR"), fault.CSRInvalid},
		{"empty", tenant, "root", nil, fault.CSRInvalid},
		{"PEM of another type", tenant, "root", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good}), fault.CSRInvalid},
		{"ECDSA P-256 key", tenant, "root", ecCSR, fault.NotSM2},
		{"unknown CA", tenant, "nope", good, fault.CANotFound},
		{"another tenant's CA", "other", "root", good, fault.CANotFound},
	} {
		_, err := e.s.SignCSR(ctx, tc.tenant, tc.ca, SignCSRRequest{CSR: tc.csr})
		wantCode(t, tc.name, err, tc.code)
	}
	_, err = e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: good, Profile: "nope"})
	wantCode(t, "unknown profile", err, fault.ProfileNotFound)
}

func TestIssueForKey(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	if _, err := e.keys.Create(ctx, tenant, kms.CreateRequest{Name: "signer", Type: device.SM2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.keys.Create(ctx, tenant, kms.CreateRequest{Name: "sym", Type: device.SM4}); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.CertificateForKey(ctx, tenant, "signer")
	wantCode(t, "before issuance", err, fault.CertificateNotFound)
	c, err := e.s.Issue(ctx, tenant, "root", IssueRequest{Key: "signer", Subject: Name{CommonName: "Document Signer"}})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := e.keys.Signer(ctx, tenant, "signer")
	if err != nil {
		t.Fatal(err)
	}
	if !signer.Public().(*ecdsa.PublicKey).Equal(parseCert(t, c.DER).PublicKey) || c.Key != "signer" || c.KeyVersion != 1 || c.Kind != ForKey {
		t.Errorf("certificate %+v is not for the key's version 1", c)
	}
	got, err := e.s.CertificateForKey(ctx, tenant, "signer")
	if err != nil || got.Serial != c.Serial {
		t.Errorf("CertificateForKey = %s, %v; want %s", got.Serial, err, c.Serial)
	}
	renewed, err := e.s.Renew(ctx, tenant, c.Serial, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.s.CertificateForKey(ctx, tenant, "signer"); err != nil || got.Serial != renewed.Serial || got.Key != "signer" {
		t.Errorf("CertificateForKey after renewal = %s, %v; want %s", got.Serial, err, renewed.Serial)
	}
	_, err = e.s.Issue(ctx, tenant, "root", IssueRequest{Key: "sym", Subject: Name{CommonName: "x"}})
	wantCode(t, "an sm4 key", err, fault.NotSM2)
	_, err = e.s.Issue(ctx, tenant, "root", IssueRequest{Key: "absent", Subject: Name{CommonName: "x"}})
	wantCode(t, "an absent key", err, fault.KeyNotFound)
	_, err = e.s.CertificateForKey(ctx, "other", "signer")
	wantCode(t, "another tenant's key", err, fault.CertificateNotFound)
}

// repeatReader returns the same bytes forever.
type repeatReader struct{}

func (repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0x5a
	}
	return len(p), nil
}

func TestSerialsAreNeverReused(t *testing.T) {
	e := newEnv(t, WithRand(repeatReader{}))
	e.root(t, "root") // takes the only serial the reader makes
	der, _ := newCSR(t, "second")
	_, err := e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: der})
	wantCode(t, "a repeated serial", err, fault.Internal)
	page, err := e.s.Search(ctx, tenant, SearchRequest{})
	if err != nil || len(page.Certificates) != 1 {
		t.Errorf("certificates after the refusal: %d, %v; want only the root's", len(page.Certificates), err)
	}
}

func TestSubjectAndNamesChecks(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  KeyPairRequest
	}{
		{"no subject and no names", KeyPairRequest{}},
		{"bad DNS name", KeyPairRequest{Subject: Name{CommonName: "x"}, SANs: SANs{DNS: []string{"bad name"}}}},
		{"bad IP", KeyPairRequest{Subject: Name{CommonName: "x"}, SANs: SANs{IP: []string{"10.0.0.300"}}}},
		{"bad e-mail", KeyPairRequest{Subject: Name{CommonName: "x"}, SANs: SANs{Email: []string{"not an address"}}}},
		{"relative URI", KeyPairRequest{Subject: Name{CommonName: "x"}, SANs: SANs{URI: []string{"/path"}}}},
	} {
		tc.req.Format, tc.req.WrappingKey = Enveloped, pubPEM(t, &priv.PublicKey)
		_, err := e.s.IssueKeyPair(ctx, tenant, "root", tc.req)
		wantCode(t, tc.name, err, fault.InvalidArgument)
	}
	c, err := e.s.IssueKeyPair(ctx, tenant, "root", KeyPairRequest{
		SANs: SANs{DNS: []string{"*.example.com"}, URI: []string{"spiffe://example.com/web"}}, Format: Enveloped, WrappingKey: pubPEM(t, &priv.PublicKey),
	})
	if err != nil {
		t.Fatalf("names without a subject: %v", err)
	}
	if cert := parseCert(t, c.Certificate.DER); len(cert.RawSubject) != 2 || cert.URIs[0].String() != "spiffe://example.com/web" {
		t.Errorf("subject %x, URIs %v", cert.RawSubject, cert.URIs)
	}
}
