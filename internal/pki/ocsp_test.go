package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"hash"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSM3    = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
	oidMD5    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}
)

// query is one certificate to ask about.
type query struct {
	issuer *smx509.Certificate
	serial *big.Int
	oid    asn1.ObjectIdentifier
	h      func() hash.Hash
}

// ocspRequestDER encodes an OCSPRequest, with a nonce extension when nonce
// is not nil.
func ocspRequestDER(t testing.TB, nonce []byte, qs ...query) []byte {
	t.Helper()
	var req ocspRequest
	for _, q := range qs {
		bits, err := subjectPublicKey(q.issuer.RawSubjectPublicKeyInfo)
		if err != nil {
			t.Fatal(err)
		}
		n, k := q.h(), q.h()
		n.Write(q.issuer.RawSubject)
		k.Write(bits)
		req.TBSRequest.RequestList = append(req.TBSRequest.RequestList, singleRequest{CertID: certID{
			HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: q.oid, Parameters: asn1.NullRawValue},
			NameHash:      n.Sum(nil), IssuerKeyHash: k.Sum(nil), SerialNumber: q.serial,
		}})
	}
	if nonce != nil {
		v, err := asn1.Marshal(nonce)
		if err != nil {
			t.Fatal(err)
		}
		req.TBSRequest.RequestExtensions = []pkix.Extension{{Id: oidOCSPNonce, Value: v}}
	}
	der, err := asn1.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// answer is a decoded single response.
type answer struct {
	status     int // 0 good, 1 revoked, 2 unknown
	revokedAt  time.Time
	reason     int
	thisUpdate time.Time
	nextUpdate time.Time
}

// decoded is a decoded OCSPResponse whose signature verified.
type decoded struct {
	status     int
	producedAt time.Time
	answers    []answer
	nonce      []byte
	certs      [][]byte
}

// decodeOCSP decodes a response and, when it is successful, checks its
// SM2 signature with signer's key.
func decodeOCSP(t testing.TB, der []byte, signer *ecdsa.PublicKey) decoded {
	t.Helper()
	var resp struct {
		Status   asn1.Enumerated
		Response responseBytes `asn1:"explicit,tag:0,optional"`
	}
	if rest, err := asn1.Unmarshal(der, &resp); err != nil || len(rest) > 0 {
		t.Fatalf("OCSPResponse: %v", err)
	}
	d := decoded{status: int(resp.Status)}
	if d.status != ocspSuccessful {
		return d
	}
	if !resp.Response.ResponseType.Equal(oidOCSPBasic) {
		t.Fatalf("response type %v", resp.Response.ResponseType)
	}
	var basic basicResponse
	if _, err := asn1.Unmarshal(resp.Response.Response, &basic); err != nil {
		t.Fatal(err)
	}
	if !basic.SignatureAlgorithm.Algorithm.Equal(oidSM2WithSM3) ||
		!sm2.VerifyASN1WithSM2(signer, nil, basic.TBSResponseData.FullBytes, basic.Signature.RightAlign()) {
		t.Fatalf("the response's signature (%v) does not verify", basic.SignatureAlgorithm.Algorithm)
	}
	for _, c := range basic.Certificates {
		d.certs = append(d.certs, c.FullBytes)
	}
	var data responseData
	if _, err := asn1.Unmarshal(basic.TBSResponseData.FullBytes, &data); err != nil {
		t.Fatal(err)
	}
	d.producedAt = data.ProducedAt
	for _, ext := range data.ResponseExtensions {
		if ext.Id.Equal(oidOCSPNonce) {
			if _, err := asn1.Unmarshal(ext.Value, &d.nonce); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range data.Responses {
		a := answer{status: r.CertStatus.Tag, thisUpdate: r.ThisUpdate, nextUpdate: r.NextUpdate}
		if a.status == 1 {
			var ri revokedInfo
			if _, err := asn1.UnmarshalWithParams(r.CertStatus.FullBytes, &ri, "tag:1"); err != nil {
				t.Fatal(err)
			}
			a.revokedAt, a.reason = ri.RevocationTime, int(ri.Reason)
		}
		d.answers = append(d.answers, a)
	}
	return d
}

func TestOCSPStatuses(t *testing.T) {
	e := newEnv(t)
	root := e.root(t, "root")
	inter := e.intermediate(t, "root", "issuing")
	ic, rc := parseCert(t, inter.Certificate), parseCert(t, root.Certificate)
	good, _ := e.signCSR(t, "issuing", "good")
	revoked, _ := e.signCSR(t, "issuing", "revoked")
	held, _ := e.signCSR(t, "issuing", "held")
	foreign, _ := e.signCSR(t, "root", "issued by the root")
	if _, err := e.s.Revoke(ctx, tenant, revoked.Serial, KeyCompromise); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Hold(ctx, tenant, held.Serial); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	serial := func(c Certificate) *big.Int { return parseCert(t, c.DER).SerialNumber }
	nonce := []byte("0123456789abcdef")
	req := ocspRequestDER(t, nonce,
		query{ic, serial(good), oidSHA1, sha1.New},
		query{ic, serial(revoked), oidSHA1, sha1.New},
		query{ic, serial(held), oidSHA1, sha1.New},
		query{ic, serial(foreign), oidSHA1, sha1.New},
		query{ic, big.NewInt(12345), oidSHA1, sha1.New},
		query{rc, serial(good), oidSHA1, sha1.New}, // the wrong issuer
		query{ic, serial(good), oidSHA256, sha256.New},
		query{ic, serial(good), oidSM3, sm3.New},
		query{ic, serial(good), oidMD5, md5.New},
	)
	der, err := e.s.RespondOCSP(ctx, tenant, "issuing", req)
	if err != nil {
		t.Fatal(err)
	}
	d := decodeOCSP(t, der, ic.PublicKey.(*ecdsa.PublicKey))
	now := e.clock.Now()
	if d.status != ocspSuccessful || !d.producedAt.Equal(now) || !bytes.Equal(d.nonce, nonce) ||
		len(d.certs) != 1 || !bytes.Equal(d.certs[0], inter.Certificate) {
		t.Errorf("response: status %d, produced %s, nonce %q, %d certificates", d.status, d.producedAt, d.nonce, len(d.certs))
	}
	want := []answer{
		{status: 0}, {status: 1, revokedAt: now.Add(-time.Minute), reason: 1}, {status: 1, revokedAt: now.Add(-time.Minute), reason: 6},
		{status: 2}, {status: 2}, {status: 2}, {status: 0}, {status: 0}, {status: 2},
	}
	if len(d.answers) != len(want) {
		t.Fatalf("%d answers, want %d", len(d.answers), len(want))
	}
	for i, a := range d.answers {
		w := want[i]
		if a.status != w.status || !a.revokedAt.Equal(w.revokedAt) || a.reason != w.reason ||
			!a.thisUpdate.Equal(now) || a.nextUpdate.Sub(a.thisUpdate) != DefaultOCSPValidity {
			t.Errorf("answer %d = %+v, want %+v", i, a, w)
		}
	}
	if _, err := e.s.Release(ctx, tenant, held.Serial); err != nil {
		t.Fatal(err)
	}
	der, err = e.s.RespondOCSP(ctx, tenant, "issuing", ocspRequestDER(t, nil, query{ic, serial(held), oidSHA1, sha1.New}))
	if err != nil {
		t.Fatal(err)
	}
	if d := decodeOCSP(t, der, ic.PublicKey.(*ecdsa.PublicKey)); len(d.answers) != 1 || d.answers[0].status != 0 || d.nonce != nil {
		t.Errorf("after release: %+v", d)
	}
}

func TestOCSPRefusals(t *testing.T) {
	e := newEnv(t)
	root := e.root(t, "root")
	rc := parseCert(t, root.Certificate)
	if _, err := e.s.CreateExternal(ctx, tenant, CreateExternalRequest{Name: "pending", Subject: Name{CommonName: "P"}}); err != nil {
		t.Fatal(err)
	}
	good := ocspRequestDER(t, nil, query{rc, big.NewInt(1), oidSHA1, sha1.New})
	var empty ocspRequest
	emptyDER, err := asn1.Marshal(empty)
	if err != nil {
		t.Fatal(err)
	}
	v1 := ocspRequest{TBSRequest: tbsRequest{Version: 1, RequestList: []singleRequest{{CertID: certID{
		HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA1}, NameHash: []byte{1}, IssuerKeyHash: []byte{2}, SerialNumber: big.NewInt(1),
	}}}}}
	v1DER, err := asn1.Marshal(v1)
	if err != nil {
		t.Fatal(err)
	}
	var many []query
	for i := range maxOCSPCerts + 1 {
		many = append(many, query{rc, big.NewInt(int64(i + 1)), oidSHA1, sha1.New})
	}
	for _, tc := range []struct {
		name       string
		tenant, ca string
		req        []byte
		status     int
	}{
		{"garbage", tenant, "root", []byte("GET / HTTP/1.1"), ocspMalformedRequest},
		{"empty", tenant, "root", nil, ocspMalformedRequest},
		{"trailing data", tenant, "root", append(bytes.Clone(good), 0), ocspMalformedRequest},
		{"no certificates", tenant, "root", emptyDER, ocspMalformedRequest},
		{"version 2", tenant, "root", v1DER, ocspMalformedRequest},
		{"too many certificates", tenant, "root", ocspRequestDER(t, nil, many...), ocspMalformedRequest},
		{"a 33-byte nonce", tenant, "root", ocspRequestDER(t, make([]byte, 33), query{rc, big.NewInt(1), oidSHA1, sha1.New}), ocspMalformedRequest},
		{"an empty nonce", tenant, "root", ocspRequestDER(t, []byte{}, query{rc, big.NewInt(1), oidSHA1, sha1.New}), ocspMalformedRequest},
		{"unknown CA", tenant, "nope", good, ocspUnauthorized},
		{"another tenant's CA", "other", "root", good, ocspUnauthorized},
		{"an invalid tenant", "Bad Tenant", "root", good, ocspUnauthorized},
		{"a pending CA", tenant, "pending", good, ocspUnauthorized},
		{"a good request", tenant, "root", good, ocspSuccessful},
	} {
		der, err := e.s.RespondOCSP(ctx, tc.tenant, tc.ca, tc.req)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if d := decodeOCSP(t, der, rc.PublicKey.(*ecdsa.PublicKey)); d.status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, d.status, tc.status)
		}
	}
	e.s.Sealed()
	der, err := e.s.RespondOCSP(ctx, tenant, "root", good)
	wantCode(t, "sealed", err, fault.Sealed)
	if d := decodeOCSP(t, der, nil); d.status != ocspTryLater {
		t.Errorf("sealed: status %d, want tryLater", d.status)
	}
}

// TestNewOCSPRequest checks the client-side builder against the responder:
// its request for a revoked certificate is answered revoked, with its nonce.
func TestNewOCSPRequest(t *testing.T) {
	e := newEnv(t)
	root := e.root(t, "root")
	leaf, _ := e.signCSR(t, "root", "leaf")
	if _, err := e.s.Revoke(ctx, tenant, leaf.Serial, Superseded); err != nil {
		t.Fatal(err)
	}
	rc := parseCert(t, root.Certificate)
	req, err := NewOCSPRequest(parseCert(t, leaf.DER), rc, []byte("nonce-1234"))
	if err != nil {
		t.Fatal(err)
	}
	der, err := e.s.RespondOCSP(ctx, tenant, "root", req)
	if err != nil {
		t.Fatal(err)
	}
	d := decodeOCSP(t, der, rc.PublicKey.(*ecdsa.PublicKey))
	if len(d.answers) != 1 || d.answers[0].status != 1 || string(d.nonce) != "nonce-1234" {
		t.Fatalf("answer: %+v", d)
	}
}
