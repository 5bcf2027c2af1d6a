package pki

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

var subCAProfile = Profile{
	Name: "subca", Usage: Signing, KeyUsage: []string{"digitalSignature"}, MaxTTL: 5 * 365 * 24 * time.Hour,
	AllowedCommonNames: []string{"**"}, CA: true, MaxPathLen: 0,
}

func TestExternalCA(t *testing.T) {
	e := newEnv(t)
	root := e.root(t, "root")
	if _, err := e.s.SetProfile(ctx, tenant, "root", subCAProfile); err != nil {
		t.Fatal(err)
	}
	ext, err := e.s.CreateExternal(ctx, tenant, CreateExternalRequest{Name: "ext", Subject: Name{CommonName: "External Issuing CA"}, Config: testConfig})
	if err != nil {
		t.Fatal(err)
	}
	if ext.State != Pending || ext.Kind != External || ext.Certificate != nil {
		t.Errorf("external CA = %+v", ext)
	}
	csr, err := smx509.ParseCertificateRequest(ext.CSR)
	if err != nil || csr.CheckSignature() != nil || csr.Subject.CommonName != "External Issuing CA" {
		t.Fatalf("the CA's CSR: %v", err)
	}
	der, _ := newCSR(t, "x")
	_, err = e.s.SignCSR(ctx, tenant, "ext", SignCSRRequest{CSR: der})
	wantCode(t, "issuing from a pending CA", err, fault.CAPending)
	_, err = e.s.Chain(ctx, tenant, "ext")
	wantCode(t, "the chain of a pending CA", err, fault.CAPending)

	issued, err := e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: ext.CSR, Profile: "subca"})
	if err != nil {
		t.Fatal(err)
	}
	leafOfRoot, _ := e.signCSR(t, "root", "not a CA")
	_, err = e.s.CreateExternal(ctx, tenant, CreateExternalRequest{Name: "other", Subject: Name{CommonName: "Other"}})
	if err != nil {
		t.Fatal(err)
	}
	rootPEM := []byte(pemCert(root.Certificate))
	for _, tc := range []struct {
		name string
		ca   string
		req  InstallRequest
		code fault.Code
	}{
		{"another CA's certificate", "other", InstallRequest{Certificate: issued.DER}, fault.CertificateInvalid},
		{"not a certificate", "ext", InstallRequest{Certificate: []byte("junk")}, fault.CertificateInvalid},
		{"a chain that did not sign it", "ext", InstallRequest{Certificate: issued.DER, Chain: []byte(pemCert(leafOfRoot.DER))}, fault.CertificateInvalid},
		{"a chain that is not PEM", "ext", InstallRequest{Certificate: issued.DER, Chain: []byte("junk")}, fault.CertificateInvalid},
		{"unknown CA", "nope", InstallRequest{Certificate: issued.DER}, fault.CANotFound},
	} {
		_, err := e.s.InstallCertificate(ctx, tenant, tc.ca, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
	ext, err = e.s.InstallCertificate(ctx, tenant, "ext", InstallRequest{Certificate: []byte(issued.PEM()), Chain: rootPEM})
	if err != nil {
		t.Fatal(err)
	}
	if ext.State != Active || ext.MaxPathLen != 0 {
		t.Errorf("installed CA = %+v", ext)
	}
	_, err = e.s.InstallCertificate(ctx, tenant, "ext", InstallRequest{Certificate: issued.DER})
	wantCode(t, "installing twice", err, fault.AlreadyExists)
	chain, err := e.s.Chain(ctx, tenant, "ext")
	if err != nil || chain != issued.PEM()+string(rootPEM) {
		t.Errorf("chain of the external CA: %v\n%s", err, chain)
	}
	leaf, _ := e.signCSR(t, "ext", "leaf of ext")
	roots, inters := smx509.NewCertPool(), smx509.NewCertPool()
	roots.AddCert(parseCert(t, root.Certificate))
	inters.AddCert(parseCert(t, issued.DER))
	if _, err := parseCert(t, leaf.DER).Verify(smx509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: e.clock.Now(), KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("a leaf of the external CA does not verify to the root: %v", err)
	}
	if _, err := e.s.SetProfile(ctx, tenant, "ext", subCAProfile); err != nil {
		t.Fatal(err)
	}
	der, _ = newCSR(t, "too deep")
	_, err = e.s.SignCSR(ctx, tenant, "ext", SignCSRRequest{CSR: der, Profile: "subca"})
	wantCode(t, "a sub-CA under a CA of path length 0", err, fault.ProfileViolation)
}

// selfSignedCA makes a CA outside mima.
func selfSignedCA(t *testing.T, isCA bool) (*sm2.PrivateKey, []byte) {
	t.Helper()
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &smx509.Certificate{
		SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "Legacy Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		BasicConstraintsValid: true, IsCA: isCA, SubjectKeyId: []byte{1, 2, 3, 4},
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign, SignatureAlgorithm: smx509.SM2WithSM3,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, der
}

func TestImportCA(t *testing.T) {
	e := newEnv(t)
	caKey, caCert := selfSignedCA(t, true)
	otherKey, _ := selfSignedCA(t, true)
	_, leafCert := selfSignedCA(t, false)
	wrap := func(priv *sm2.PrivateKey) ImportCARequest {
		t.Helper()
		params, err := e.s.ImportCAParams(ctx, tenant, "legacy")
		if err != nil {
			t.Fatal(err)
		}
		pub, err := parsePublicKeyPEM(params.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		env, err := sm2.MarshalEnvelopedPrivateKey(rand.Reader, pub, priv)
		if err != nil {
			t.Fatal(err)
		}
		return ImportCARequest{Token: params.Token, WrappedKey: env, Certificate: caCert, Config: testConfig}
	}
	req := wrap(otherKey)
	_, err := e.s.ImportCA(ctx, tenant, "legacy", req)
	wantCode(t, "a certificate for another key", err, fault.CertificateInvalid)
	req = wrap(caKey)
	req.Certificate = leafCert
	_, err = e.s.ImportCA(ctx, tenant, "legacy", req)
	wantCode(t, "a certificate that is not a CA's", err, fault.CertificateInvalid)
	req.Certificate = caCert // the token is still good: the check came first
	ca, err := e.s.ImportCA(ctx, tenant, "legacy", req)
	if err != nil {
		t.Fatal(err)
	}
	if ca.State != Active || ca.Kind != Imported || ca.Subject != "CN=Legacy Root" {
		t.Errorf("imported CA = %+v", ca)
	}
	key, err := e.keys.Get(ctx, tenant, ca.Key)
	if err != nil || key.MinDecryptionVersion != key.LatestVersion || !key.Versions[key.LatestVersion-1].Imported || key.Exportable {
		t.Errorf("the CA key after import: %+v, %v", key, err)
	}
	leaf, _ := e.signCSR(t, "legacy", "issued by an imported CA")
	if err := parseCert(t, leaf.DER).CheckSignatureFrom(parseCert(t, caCert)); err != nil {
		t.Errorf("a certificate of the imported CA does not verify with its old certificate: %v", err)
	}
	_, err = e.s.ImportCAParams(ctx, tenant, "legacy")
	wantCode(t, "import parameters for an active CA", err, fault.AlreadyExists)
	_, err = e.s.ImportCA(ctx, tenant, "legacy", req)
	wantCode(t, "importing twice", err, fault.AlreadyExists)
	if !strings.HasPrefix(ca.Key, "ca-legacy-") {
		t.Errorf("CA key name %q", ca.Key)
	}
}
