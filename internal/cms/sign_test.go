package cms

import (
	"bytes"
	"encoding/asn1"
	"testing"
	"time"

	"github.com/emmansun/gmsm/pkcs7"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/pki"
)

// TestSignAndVerify signs with both OID sets, attached and detached, with
// and without the chain, and verifies each under the trust anchors that
// should accept it.
func TestSignAndVerify(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.intermediate(t, "root", "issuing")
	cert := e.key(t, "issuing", "alice")
	content := []byte("contract no. 42")
	at := e.clock.Advance(time.Hour).Add(-time.Minute)
	for _, tc := range []struct {
		name             string
		req              SignRequest
		trust            TrustAnchors
		oids             oidSet
		sigParams, certs int // NULL parameters (0 or 1) and certificates in the SignedData
	}{
		{"gm attached", SignRequest{Content: content}, TrustAnchors{}, gmOIDs, 1, 1},
		{"gm detached", SignRequest{Content: content, Detached: true}, TrustAnchors{CAs: []string{"issuing"}}, gmOIDs, 1, 1},
		{"rfc attached", SignRequest{Content: content, RFC5652: true}, TrustAnchors{CAs: []string{"root"}}, rfcOIDs, 0, 1},
		{"chain, root pem", SignRequest{Content: content, SignerOptions: SignerOptions{IncludeChain: true}},
			TrustAnchors{PEM: rootPEM(t, e)}, gmOIDs, 1, 3},
		{"explicit certificate and signing time", SignRequest{Content: content, SignerOptions: SignerOptions{Certificate: cert.PEM(), SigningTime: at}},
			TrustAnchors{}, gmOIDs, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Key = "alice"
			der := e.sign(t, tc.req)
			p := mustParse(t, der)
			si := p.signers[0]
			if !p.oids.signedData.Equal(tc.oids.signedData) || !p.sd.EncapContent.ContentType.Equal(tc.oids.data) ||
				!si.SignatureAlgorithm.Algorithm.Equal(tc.oids.sigAlg) || len(p.certs) != tc.certs || p.detached != tc.req.Detached {
				t.Errorf("structure: type %v, content %v, sig alg %v, %d certs, detached %v",
					p.oids.signedData, p.sd.EncapContent.ContentType, si.SignatureAlgorithm.Algorithm, len(p.certs), p.detached)
			}
			if got := len(si.SignatureAlgorithm.Parameters.FullBytes) / 2; got != tc.sigParams {
				t.Errorf("signature algorithm parameters %x", si.SignatureAlgorithm.Parameters.FullBytes)
			}
			req := VerifyRequest{CMS: der, TrustAnchors: tc.trust}
			if tc.req.Detached {
				req.Content = content
			}
			r := e.verify(t, req)
			if !r.Valid || len(r.Signers) != 1 {
				t.Fatalf("report %+v", r)
			}
			s := r.Signers[0]
			wantTime := e.clock.Now()
			if !tc.req.SigningTime.IsZero() {
				wantTime = tc.req.SigningTime.Truncate(time.Second)
			}
			if s.Certificate.Serial != trimSerial(cert.Serial) || s.Certificate.Subject != cert.Subject ||
				s.Chain != ChainTrusted || s.Revocation.Status != Good || s.Revocation.Source != SourceCRL ||
				!s.SigningTime.Equal(wantTime) || s.Timestamp != nil || !s.EvaluatedAt.Equal(e.clock.Now()) {
				t.Errorf("signer report %+v", s)
			}
			if !tc.req.Detached && !bytes.Equal(r.Content, content) {
				t.Errorf("content %q", r.Content)
			}
		})
	}
}

func rootPEM(t testing.TB, e *env) string {
	t.Helper()
	ca, err := e.ca.GetCA(ctx, tenant, "root")
	if err != nil {
		t.Fatal(err)
	}
	return pemCertificate(ca.Certificate)
}

// trimSerial is how reports print a serial of the CA's 32 hex digits.
func trimSerial(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// TestSignRefuses covers the signers Sign turns down.
func TestSignRefuses(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.key(t, "root", "alice")
	bob := e.key(t, "root", "bob")
	carol := e.key(t, "root", "carol")
	e.revoke(t, carol.Serial, pki.KeyCompromise)
	e.key(t, "root", "dave", func(r *pki.IssueRequest) { r.TTL = time.Hour })
	if _, err := e.keys.Create(ctx, tenant, kms.CreateRequest{Name: "nocert", Type: device.SM2}); err != nil {
		t.Fatal(err)
	}
	_, foreign := selfSigned(t, "foreign", e.clock.Now(), nil)
	for _, tc := range []struct {
		name string
		o    SignerOptions
		at   time.Duration // clock advance before signing
		code fault.Code
	}{
		{"no certificate for the key", SignerOptions{Key: "nocert"}, 0, fault.CertificateNotFound},
		{"another key's certificate", SignerOptions{Key: "alice", Certificate: bob.PEM()}, 0, fault.CertificateKeyMismatch},
		{"foreign certificate", SignerOptions{Key: "alice", Certificate: pemOf(foreign)}, 0, fault.CertificateKeyMismatch},
		{"revoked", SignerOptions{Key: "carol"}, 0, fault.CertificateRevoked},
		{"signing time before validity", SignerOptions{Key: "alice", SigningTime: e.clock.Now().Add(-time.Hour)}, 0, fault.CertificateExpired},
		{"expired now", SignerOptions{Key: "dave"}, 2 * time.Hour, fault.CertificateExpired},
		{"not a certificate", SignerOptions{Key: "alice", Certificate: "junk"}, 0, fault.CertificateInvalid},
		{"unknown key", SignerOptions{Key: "nobody"}, 0, fault.KeyNotFound},
		{"unknown TSA", SignerOptions{Key: "alice", TSA: "nope"}, 0, fault.TSANotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(tc.at)
			_, err := e.s.Sign(ctx, tenant, SignRequest{SignerOptions: tc.o, Content: []byte("x")})
			wantCode(t, tc.name, err, tc.code)
		})
	}
	e.s.Sealed()
	_, err := e.s.Sign(ctx, tenant, SignRequest{SignerOptions: SignerOptions{Key: "alice"}})
	wantCode(t, "sealed", err, fault.Sealed)
}

// TestGmsmInterop has gmsm's pkcs7 verify what Sign makes in GM/T 0010
// form, and Verify check what gmsm signs.
func TestGmsmInterop(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.key(t, "root", "alice")
	der := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("to gmsm")})
	p7, err := pkcs7.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := p7.Verify(); err != nil || string(p7.Content) != "to gmsm" {
		t.Errorf("gmsm verifies %q: %v", p7.Content, err)
	}

	priv, cert := selfSigned(t, "gmsm signer", e.clock.Now(), nil)
	theirs := gmsmSigned(t, priv, cert, []byte("from gmsm"))
	r := e.verify(t, VerifyRequest{CMS: theirs, TrustAnchors: TrustAnchors{PEM: pemOf(cert)}})
	if !r.Valid || string(r.Content) != "from gmsm" || r.Signers[0].Revocation.Status != Unknown {
		t.Errorf("gmsm's SignedData: %+v", r)
	}
	r = e.verify(t, VerifyRequest{CMS: theirs})
	wantReasons(t, "gmsm's SignedData under the tenant's CAs", r.Signers[0].Reasons, UntrustedChain)
}

// TestSignedAttributes checks what a SignerInfo signs: content type,
// message digest and signing time, in DER order.
func TestSignedAttributes(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.key(t, "root", "alice")
	p := mustParse(t, e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("a")}))
	attrs, err := parseAttributes(p.signers[0].SignedAttrs.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var types []asn1.ObjectIdentifier
	for _, a := range attrs {
		types = append(types, a.Type)
	}
	want := []asn1.ObjectIdentifier{oidContentType, oidSigningTime, oidMessageDigest} // DER order of the encodings
	if len(types) != 3 || !types[0].Equal(want[0]) || !types[1].Equal(want[1]) || !types[2].Equal(want[2]) {
		t.Errorf("signed attributes %v", types)
	}
	if p.signers[0].Version != 1 || p.sd.Version != 1 {
		t.Errorf("versions %d, %d", p.signers[0].Version, p.sd.Version)
	}
	var ias issuerAndSerial
	if err := unmarshalAll(p.signers[0].SID.FullBytes, &ias); err != nil || !bytes.Equal(ias.Issuer.FullBytes, p.certs[0].RawIssuer) {
		t.Errorf("signer identifier: %v", err)
	}
}
