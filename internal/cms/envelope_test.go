package cms

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
)

// TestEnvelope encrypts to two recipients with both OID sets and has
// each open it with its mima key; a third key cannot.
func TestEnvelope(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	alice := e.key(t, "root", "alice", forEncryption)
	bob := e.key(t, "root", "bob", forEncryption)
	e.key(t, "root", "eve", forEncryption)
	content := bytes.Repeat([]byte("secret "), 1000)
	for _, tc := range []struct {
		name    string
		rfc     bool
		typ     asn1.ObjectIdentifier
		version int
	}{{"gm", false, oidGMEnvelopedData, 1}, {"rfc", true, oidEnvelopedData, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			der, err := e.s.Encrypt(EnvelopeRequest{Recipients: []string{alice.PEM(), bob.PEM()}, Content: content, RFC5652: tc.rfc})
			if err != nil {
				t.Fatal(err)
			}
			var ci contentInfo
			var ed envelopedData
			if unmarshalAll(der, &ci) != nil || unmarshalAll(ci.Content.Bytes, &ed) != nil || !ci.ContentType.Equal(tc.typ) ||
				ed.Version != tc.version || len(ed.RecipientInfos) != 2 || !ed.EncryptedContentInfo.ContentEncryptionAlgorithm.Algorithm.Equal(oidSM4CBC) {
				t.Fatalf("structure: type %v, version %d, %d recipients", ci.ContentType, ed.Version, len(ed.RecipientInfos))
			}
			for _, key := range []string{"alice", "bob"} {
				pt, err := e.s.Decrypt(ctx, tenant, DecryptRequest{CMS: der, Key: key})
				if err != nil || !bytes.Equal(pt, content) {
					t.Errorf("%s: %d bytes, %v", key, len(pt), err)
				}
			}
			_, err = e.s.Decrypt(ctx, tenant, DecryptRequest{CMS: der, Key: "eve"})
			wantCode(t, "not a recipient", err, fault.DecryptFailed)
		})
	}
}

// TestEnvelopeAfterRotation opens an envelope made for a key's old
// version after the key was rotated.
func TestEnvelopeAfterRotation(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	alice := e.key(t, "root", "alice", forEncryption)
	der, err := e.s.Encrypt(EnvelopeRequest{Recipients: []string{alice.PEM()}, Content: []byte("old")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.keys.Rotate(ctx, tenant, "alice"); err != nil {
		t.Fatal(err)
	}
	if pt, err := e.s.Decrypt(ctx, tenant, DecryptRequest{CMS: der, Key: "alice"}); err != nil || string(pt) != "old" {
		t.Errorf("%q, %v", pt, err)
	}
}

// TestSignThenEnvelope nests a SignedData in an envelope, the package's
// answer to signedAndEnvelopedData.
func TestSignThenEnvelope(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.key(t, "root", "alice")
	bob := e.key(t, "root", "bob", forEncryption)
	signed := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("for bob's eyes")})
	env, err := e.s.Encrypt(EnvelopeRequest{Recipients: []string{bob.PEM()}, Content: signed})
	if err != nil {
		t.Fatal(err)
	}
	opened, err := e.s.Decrypt(ctx, tenant, DecryptRequest{CMS: env, Key: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.verify(t, VerifyRequest{CMS: opened})
	if !r.Valid || string(r.Content) != "for bob's eyes" {
		t.Errorf("report %+v", r)
	}
}

// TestEnvelopeGmsmInterop: gmsm opens our envelope, and we open gmsm's.
func TestEnvelopeGmsmInterop(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	bob := e.key(t, "root", "bob", forEncryption)
	priv, cert := selfSigned(t, "gmsm recipient", e.clock.Now(), func(c *smx509.Certificate) {
		c.KeyUsage = smx509.KeyUsageKeyEncipherment
	})
	ours, err := e.s.Encrypt(EnvelopeRequest{Recipients: []string{pemOf(cert)}, Content: []byte("to gmsm")})
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(ours)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := p7.Decrypt(cert, priv); err != nil || string(pt) != "to gmsm" {
		t.Errorf("gmsm opens %q: %v", pt, err)
	}
	theirs, err := pkcs7.EncryptSM(pkcs.SM4CBC, []byte("from gmsm"), []*smx509.Certificate{parse(t, bob.DER)})
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := e.s.Decrypt(ctx, tenant, DecryptRequest{CMS: theirs, Key: "bob"}); err != nil || string(pt) != "from gmsm" {
		t.Errorf("we open %q: %v", pt, err)
	}
}

// TestEnvelopeRefuses covers bad recipients and envelopes.
func TestEnvelopeRefuses(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	signing := e.key(t, "root", "alice")
	bob := e.key(t, "root", "bob", forEncryption)
	short := e.key(t, "root", "carol", forEncryption, func(r *pki.IssueRequest) { r.TTL = time.Hour })
	e.clock.Advance(2 * time.Hour)
	many := make([]string, maxRecipients+1)
	for i := range many {
		many[i] = bob.PEM()
	}
	for _, tc := range []struct {
		name string
		req  EnvelopeRequest
		code fault.Code
	}{
		{"no recipient", EnvelopeRequest{}, fault.InvalidArgument},
		{"too many", EnvelopeRequest{Recipients: many}, fault.InvalidArgument},
		{"signing certificate", EnvelopeRequest{Recipients: []string{signing.PEM()}}, fault.CertificateInvalid},
		{"expired", EnvelopeRequest{Recipients: []string{short.PEM()}}, fault.CertificateExpired},
		{"not pem", EnvelopeRequest{Recipients: []string{"junk"}}, fault.CertificateInvalid},
		{"ecdsa", EnvelopeRequest{Recipients: []string{ecdsaCertPEM(t)}}, fault.NotSM2},
	} {
		_, err := e.s.Encrypt(tc.req)
		wantCode(t, tc.name, err, tc.code)
	}

	good, err := e.s.Encrypt(EnvelopeRequest{Recipients: []string{bob.PEM()}, Content: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	ecb := changeContentAlgorithm(t, good, asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 104, 1})
	integers := chunkContent(t, good, func(b []byte) []byte { return appendTLV(nil, []byte{0x02}, b) })
	signed := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("x")})
	for _, tc := range []struct {
		name string
		req  DecryptRequest
		code fault.Code
	}{
		{"garbage", DecryptRequest{CMS: []byte("junk"), Key: "bob"}, fault.CMSMalformed},
		{"signed data", DecryptRequest{CMS: signed, Key: "bob"}, fault.CMSMalformed},
		{"sm4-ecb", DecryptRequest{CMS: ecb, Key: "bob"}, fault.CMSMalformed},
		{"constructed content of integers", DecryptRequest{CMS: integers, Key: "bob"}, fault.CMSMalformed},
		{"truncated", DecryptRequest{CMS: good[:len(good)-3], Key: "bob"}, fault.CMSMalformed},
		{"unknown key", DecryptRequest{CMS: good, Key: "nobody"}, fault.KeyNotFound},
		{"signing key of another", DecryptRequest{CMS: good, Key: "alice"}, fault.DecryptFailed},
	} {
		_, err := e.s.Decrypt(ctx, tenant, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
	if _, err := e.keys.Disable(ctx, tenant, "bob"); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Decrypt(ctx, tenant, DecryptRequest{CMS: good, Key: "bob"})
	wantCode(t, "disabled key", err, fault.KeyDisabled)
}

// TestEnvelopeConstructedContent opens an envelope whose encrypted
// content is, as BER allows, a constructed string of OCTET STRINGs.
func TestEnvelopeConstructedContent(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	bob := e.key(t, "root", "bob", forEncryption)
	der, err := e.s.Encrypt(EnvelopeRequest{Recipients: []string{bob.PEM()}, Content: bytes.Repeat([]byte("chunk"), 20)})
	if err != nil {
		t.Fatal(err)
	}
	chunked := chunkContent(t, der, func(b []byte) []byte { return appendTLV(nil, []byte{0x04}, b) })
	if pt, err := e.s.Decrypt(ctx, tenant, DecryptRequest{CMS: chunked, Key: "bob"}); err != nil || !bytes.Equal(pt, bytes.Repeat([]byte("chunk"), 20)) {
		t.Errorf("%q, %v", pt, err)
	}
}

// chunkContent re-encodes the encrypted content of an envelope as a
// constructed [0] of 16-byte pieces, each encoded by piece.
func chunkContent(t testing.TB, der []byte, piece func([]byte) []byte) []byte {
	t.Helper()
	var ci contentInfo
	var ed envelopedData
	if unmarshalAll(der, &ci) != nil || unmarshalAll(ci.Content.Bytes, &ed) != nil {
		t.Fatal("envelope does not parse")
	}
	var body []byte
	for b := ed.EncryptedContentInfo.EncryptedContent.Bytes; len(b) > 0; b = b[16:] {
		body = append(body, piece(b[:16])...)
	}
	ed.EncryptedContentInfo.EncryptedContent = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: body}
	out, err := wrapContentInfo(ci.ContentType, ed)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// changeContentAlgorithm rewrites the content encryption OID of an
// envelope.
func changeContentAlgorithm(t testing.TB, der []byte, oid asn1.ObjectIdentifier) []byte {
	t.Helper()
	var ci contentInfo
	var ed envelopedData
	if unmarshalAll(der, &ci) != nil || unmarshalAll(ci.Content.Bytes, &ed) != nil {
		t.Fatal("envelope does not parse")
	}
	ed.EncryptedContentInfo.ContentEncryptionAlgorithm.Algorithm = oid
	out, err := wrapContentInfo(ci.ContentType, ed)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ecdsaCertPEM returns a self-signed ECDSA P-256 certificate.
func ecdsaCertPEM(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "p256"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
