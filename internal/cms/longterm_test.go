package cms

import (
	"bytes"
	"encoding/asn1"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/pki"
)

// TestSignatureHoldsUpAfterRevocation is the issue's proof: a document
// signed and timestamped, then its signer's certificate revoked and
// expired, still verifies at the timestamp's time, with the revocation
// reported; without the timestamp it does not; altered by one byte it
// fails on the content digest.
func TestSignatureHoldsUpAfterRevocation(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	alice := e.key(t, "root", "alice", func(r *pki.IssueRequest) { r.TTL = 2 * time.Hour })
	e.tsa(t, "root", "tsa")
	content := []byte("I, Alice, owe Bob 100 yuan.")
	signedAt := e.clock.Now()
	doc := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice", TSA: "tsa"}, Content: content})

	revokedAt := e.clock.Advance(10 * time.Minute)
	e.revoke(t, alice.Serial, pki.KeyCompromise)
	e.clock.Advance(3 * time.Hour) // and the certificate has expired

	for _, useOCSP := range []bool{false, true} {
		r := e.verify(t, VerifyRequest{CMS: doc, UseOCSP: useOCSP})
		if !r.Valid {
			t.Fatalf("ocsp %v: not valid: %+v", useOCSP, r.Signers[0])
		}
		s := r.Signers[0]
		if s.Timestamp == nil || !s.Timestamp.Valid || !s.Timestamp.Time.Equal(signedAt) || !s.EvaluatedAt.Equal(signedAt.Add(time.Second)) ||
			s.Chain != ChainTrusted || s.Revocation.Status != Revoked || !s.Revocation.RevokedAt.Equal(revokedAt) ||
			s.Revocation.Reason != "keyCompromise" {
			t.Errorf("ocsp %v: signer %+v, timestamp %+v", useOCSP, s, s.Timestamp)
		}
	}

	unstamped := mustParse(t, doc)
	si := unstamped.signers[0]
	si.UnsignedAttrs = asn1.RawValue{}
	setSigner(t, unstamped, 0, si)
	r := e.verify(t, VerifyRequest{CMS: remarshal(t, unstamped)})
	wantReasons(t, "without the timestamp", r.Signers[0].Reasons, CertificateExpired)
	r = e.verify(t, VerifyRequest{CMS: remarshal(t, unstamped), At: revokedAt.Add(time.Minute)})
	wantReasons(t, "without the timestamp, before expiry", r.Signers[0].Reasons, CertificateRevoked)

	altered := bytes.Replace(doc, []byte("100"), []byte("900"), 1)
	r = e.verify(t, VerifyRequest{CMS: altered})
	if r.Valid {
		t.Error("the altered document verifies")
	}
	wantReasons(t, "altered by one byte", r.Signers[0].Reasons, ContentDigestMismatch)
}

// TestTimestampAfterRevocation stamps a signature only after its
// certificate was revoked: judged at the timestamp, it is revoked.
func TestTimestampAfterRevocation(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	alice := e.key(t, "root", "alice")
	e.tsa(t, "root", "tsa")
	doc := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("x")})
	e.clock.Advance(time.Minute)
	e.revoke(t, alice.Serial, pki.Superseded)
	stampedAt := e.clock.Advance(time.Minute)
	late := e.stampSigner(t, doc, "tsa")
	r := e.verify(t, VerifyRequest{CMS: late})
	s := r.Signers[0]
	if r.Valid || s.Timestamp == nil || !s.Timestamp.Valid || !s.EvaluatedAt.Equal(stampedAt.Add(time.Second)) {
		t.Errorf("signer %+v", s)
	}
	wantReasons(t, "stamped after revocation", s.Reasons, CertificateRevoked)
}

// TestBadSignatureTimestamps: a token over something else, or from a TSA
// outside the trust anchors, makes the signer invalid, and the signer is
// judged now.
func TestBadSignatureTimestamps(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.root(t, "other")
	e.key(t, "root", "alice")
	e.tsa(t, "root", "tsa")
	e.tsa(t, "other", "outsider")
	doc := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("x")})

	p := mustParse(t, doc)
	resp, err := e.s.Timestamp(ctx, tenant, "tsa", query(t, []byte("something else")))
	if err != nil {
		t.Fatal(err)
	}
	wrong := withToken(t, p, resp)
	for _, tc := range []struct {
		name  string
		cms   []byte
		trust TrustAnchors
		why   Reason
	}{
		{"token over other data", wrong, TrustAnchors{}, MessageImprintMismatch},
		{"untrusted TSA", e.stampSigner(t, doc, "outsider"), TrustAnchors{CAs: []string{"root"}}, UntrustedChain},
		{"garbled token", withToken(t, mustParse(t, doc), []byte{0x30, 0x03, 0x02, 0x01, 0x00}), TrustAnchors{}, TimestampMalformed},
	} {
		r := e.verify(t, VerifyRequest{CMS: tc.cms, TrustAnchors: tc.trust})
		s := r.Signers[0]
		wantReasons(t, tc.name, s.Reasons, TimestampInvalid)
		if s.Timestamp == nil || s.Timestamp.Valid || !slices.Contains(s.Timestamp.Reasons, tc.why) ||
			!s.EvaluatedAt.Equal(e.clock.Now()) {
			t.Errorf("%s: timestamp %+v", tc.name, s.Timestamp)
		}
	}
}

// stampSigner has tsa stamp the signature of the first signer of doc, as
// an archive service would later.
func (e *env) stampSigner(t testing.TB, doc []byte, tsa string) []byte {
	t.Helper()
	p := mustParse(t, doc)
	d := sm3.Sum(p.signers[0].Signature)
	resp, err := e.s.Timestamp(ctx, tenant, tsa, query(t, nil, func(q *tsReq) { q.Imprint.HashedMessage = d[:] }))
	if err != nil {
		t.Fatal(err)
	}
	return withToken(t, p, resp)
}

// withToken adds the token of a TimeStampResp (or, when it is none, the
// bytes themselves) as signature timestamp of the first signer of p.
func withToken(t testing.TB, p *parsedSignedData, resp []byte) []byte {
	t.Helper()
	token := resp
	var r timeStampResp
	if unmarshalAll(resp, &r) == nil && len(r.Token.FullBytes) > 0 {
		token = r.Token.FullBytes
	}
	si := p.signers[0]
	var err error
	if si.UnsignedAttrs, err = addUnsigned(si.UnsignedAttrs, oidSignatureTimeAttr, token); err != nil {
		t.Fatal(err)
	}
	setSigner(t, p, 0, si)
	return remarshal(t, p)
}
