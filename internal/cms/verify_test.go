package cms

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
)

// TestVerifyReasons spoils one thing at a time and checks the reason
// Verify gives.
func TestVerifyReasons(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	stranger := e.root(t, "stranger")
	alice := e.key(t, "root", "alice", func(r *pki.IssueRequest) { r.TTL = 48 * time.Hour })
	content := []byte("pay 100 yuan to bob")
	signed := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: content})
	detached := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: content, Detached: true})

	altered := bytes.Clone(signed)
	i := bytes.Index(altered, []byte("100"))
	altered[i] = '9'

	badSig := mustParse(t, signed)
	si := badSig.signers[0]
	si.Signature = bytes.Clone(si.Signature)
	si.Signature[len(si.Signature)-1] ^= 1
	setSigner(t, badSig, 0, si)

	noCerts := mustParse(t, signed)
	noCerts.sd.Certificates = noCerts.sd.CRLs

	wrongType := mustParse(t, signed)
	wrongType.sd.EncapContent.ContentType = oidData

	for _, tc := range []struct {
		name    string
		req     VerifyRequest
		chain   ChainStatus
		reasons []Reason
	}{
		{"one byte altered", VerifyRequest{CMS: altered}, ChainUnchecked, []Reason{ContentDigestMismatch}},
		{"other detached content", VerifyRequest{CMS: detached, Content: []byte("pay 900 yuan to bob")}, ChainUnchecked, []Reason{ContentDigestMismatch}},
		{"signature altered", VerifyRequest{CMS: remarshal(t, badSig)}, ChainUnchecked, []Reason{SignatureInvalid}},
		{"no certificate", VerifyRequest{CMS: remarshal(t, noCerts)}, ChainUnchecked, []Reason{UnknownCertificate}},
		{"content type changed", VerifyRequest{CMS: remarshal(t, wrongType)}, ChainUnchecked, []Reason{ContentTypeMismatch}},
		{"untrusted", VerifyRequest{CMS: signed, TrustAnchors: TrustAnchors{CAs: []string{"stranger"}}}, ChainUntrusted, []Reason{UntrustedChain}},
		{"untrusted pem", VerifyRequest{CMS: signed, TrustAnchors: TrustAnchors{PEM: pemCertificate(stranger.Certificate)}}, ChainUntrusted, []Reason{UntrustedChain}},
		{"expired at", VerifyRequest{CMS: signed, At: e.clock.Now().Add(72 * time.Hour)}, ChainExpired, []Reason{CertificateExpired}},
		{"not yet valid at", VerifyRequest{CMS: signed, At: e.clock.Now().Add(-time.Hour)}, ChainExpired, []Reason{CertificateNotYetValid}},
		{"valid", VerifyRequest{CMS: signed}, ChainTrusted, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.verify(t, tc.req)
			if r.Valid != (tc.reasons == nil) || len(r.Signers) != 1 {
				t.Fatalf("report %+v", r)
			}
			wantReasons(t, tc.name, r.Signers[0].Reasons, tc.reasons...)
			if r.Signers[0].Chain != tc.chain {
				t.Errorf("chain %s, want %s", r.Signers[0].Chain, tc.chain)
			}
			if tc.reasons == nil || tc.reasons[0] != UnknownCertificate {
				if r.Signers[0].Certificate.Serial != trimSerial(alice.Serial) {
					t.Errorf("certificate %+v", r.Signers[0].Certificate)
				}
			}
		})
	}
}

// TestVerifyRefuses covers requests Verify cannot judge.
func TestVerifyRefuses(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.key(t, "root", "alice")
	signed := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("x")})
	detached := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("x"), Detached: true})
	envelope, err := e.s.Encrypt(EnvelopeRequest{Recipients: []string{e.key(t, "root", "bob", forEncryption).PEM()}, Content: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  VerifyRequest
		code fault.Code
	}{
		{"garbage", VerifyRequest{CMS: []byte("not asn.1")}, fault.CMSMalformed},
		{"empty", VerifyRequest{}, fault.CMSMalformed},
		{"an envelope", VerifyRequest{CMS: envelope}, fault.CMSMalformed},
		{"trailing data", VerifyRequest{CMS: append(bytes.Clone(signed), 0)}, fault.CMSMalformed},
		{"detached without content", VerifyRequest{CMS: detached}, fault.InvalidArgument},
		{"attached with content", VerifyRequest{CMS: signed, Content: []byte("x")}, fault.InvalidArgument},
		{"unknown trust CA", VerifyRequest{CMS: signed, TrustAnchors: TrustAnchors{CAs: []string{"nope"}}}, fault.CANotFound},
		{"bad trust PEM", VerifyRequest{CMS: signed, TrustAnchors: TrustAnchors{PEM: "junk"}}, fault.InvalidArgument},
		{"bad CRL", VerifyRequest{CMS: signed, CRLs: [][]byte{[]byte("junk")}}, fault.InvalidArgument},
	} {
		_, err := e.s.Verify(ctx, tenant, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
}

// TestVerifyRevocation revokes signers and checks that each source
// reports it: the issuing CA's CRL, its OCSP answer, and a CRL the
// caller supplies for a CA outside mima.
func TestVerifyRevocation(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.intermediate(t, "root", "issuing")
	alice := e.key(t, "issuing", "alice")
	bob := e.key(t, "issuing", "bob")
	content := []byte("x")
	byAlice := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice", IncludeChain: true}, Content: content})
	byBob := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "bob"}, Content: content})
	revokedAt := e.clock.Advance(time.Minute)
	e.revoke(t, alice.Serial, pki.KeyCompromise)
	if _, err := e.ca.Hold(ctx, tenant, bob.Serial); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)

	// A CA outside mima, its signer, and its CRL revoking the signer.
	caKey, caCert := selfSigned(t, "outside CA", e.clock.Now(), nil)
	carolKey, carolCert := leafOf(t, caKey, caCert, "carol")
	sd := gmsmSigned(t, carolKey, carolCert, content)
	crl := crlOf(t, caKey, caCert, carolCert, revokedAt, 1)

	for _, tc := range []struct {
		name   string
		req    VerifyRequest
		reason string
		source string
	}{
		{"crl", VerifyRequest{CMS: byAlice, TrustAnchors: TrustAnchors{CAs: []string{"root"}}}, "keyCompromise", SourceCRL},
		{"ocsp", VerifyRequest{CMS: byAlice, UseOCSP: true}, "keyCompromise", SourceOCSP},
		{"on hold", VerifyRequest{CMS: byBob}, "certificateHold", SourceCRL},
		{"supplied crl", VerifyRequest{CMS: sd, TrustAnchors: TrustAnchors{PEM: pemOf(caCert)}, CRLs: [][]byte{crl}}, "keyCompromise", SourceSuppliedCRL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.verify(t, tc.req)
			s := r.Signers[0]
			if r.Valid || s.Revocation.Status != Revoked || s.Revocation.Reason != tc.reason || s.Revocation.Source != tc.source ||
				!s.Revocation.RevokedAt.Equal(revokedAt) {
				t.Errorf("report %+v", s)
			}
			wantReasons(t, tc.name, s.Reasons, CertificateRevoked)
		})
	}
	// Judged before the revocation, the same signatures are valid, and
	// the revocation is still reported.
	r := e.verify(t, VerifyRequest{CMS: byAlice, At: revokedAt.Add(-time.Second)})
	if !r.Valid || r.Signers[0].Revocation.Status != Revoked {
		t.Errorf("before the revocation: %+v", r.Signers[0])
	}
	// Without the CRL, nothing covers carol.
	r = e.verify(t, VerifyRequest{CMS: sd, TrustAnchors: TrustAnchors{PEM: pemOf(caCert)}})
	if !r.Valid || r.Signers[0].Revocation.Status != Unknown {
		t.Errorf("no CRL: %+v", r.Signers[0])
	}
	// A CRL signed by someone else is not believed.
	otherKey, otherCert := selfSigned(t, "outside CA", e.clock.Now(), nil)
	forged := crlOf(t, otherKey, otherCert, carolCert, revokedAt, 1)
	r = e.verify(t, VerifyRequest{CMS: sd, TrustAnchors: TrustAnchors{PEM: pemOf(caCert)}, CRLs: [][]byte{forged}})
	if !r.Valid || r.Signers[0].Revocation.Status != Unknown {
		t.Errorf("forged CRL: %+v", r.Signers[0])
	}
}

// leafOf issues an end-entity certificate for a new SM2 key under a CA
// outside mima.
func leafOf(t testing.TB, caKey *sm2.PrivateKey, ca *smx509.Certificate, cn string) (*sm2.PrivateKey, *smx509.Certificate) {
	t.Helper()
	priv, leaf := selfSigned(t, cn, ca.NotBefore.Add(time.Hour), nil)
	tmpl := *leaf
	tmpl.IsCA, tmpl.KeyUsage = false, smx509.KeyUsageDigitalSignature
	der, err := smx509.CreateCertificate(rand.Reader, &tmpl, ca, &priv.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return priv, c
}

// gmsmSigned has gmsm sign content in GM/T 0010 form.
func gmsmSigned(t testing.TB, priv *sm2.PrivateKey, cert *smx509.Certificate, content []byte) []byte {
	t.Helper()
	sd, err := pkcs7.NewSMSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.AddSigner(cert, priv, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// crlOf makes a CRL of ca listing cert as revoked at at with reason.
func crlOf(t testing.TB, caKey *sm2.PrivateKey, ca, cert *smx509.Certificate, at time.Time, reason int) []byte {
	t.Helper()
	der, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: at, NextUpdate: at.Add(24 * time.Hour), SignatureAlgorithm: smx509.SM2WithSM3,
		RevokedCertificateEntries: []smx509.RevocationListEntry{{SerialNumber: cert.SerialNumber, RevocationTime: at, ReasonCode: reason}},
	}, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
