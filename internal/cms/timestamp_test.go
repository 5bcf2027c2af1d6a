package cms

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
)

// query returns a DER TimeStampReq over data with SM3, a nonce and
// certReq, changed by mods.
func query(t testing.TB, data []byte, mods ...func(*tsReq)) []byte {
	t.Helper()
	d := sm3.Sum(data)
	q := tsReq{Version: 1, Imprint: messageImprint{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSM3}, HashedMessage: d[:]},
		Nonce: big.NewInt(0x1234_5678_9abc), CertReq: true}
	for _, m := range mods {
		m(&q)
	}
	der, err := asn1.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// reply parses a TimeStampResp.
func reply(t testing.TB, der []byte) (timeStampResp, *timestampToken) {
	t.Helper()
	var resp timeStampResp
	if err := unmarshalAll(der, &resp); err != nil {
		t.Fatalf("response does not parse: %v", err)
	}
	if resp.Status.Status != statusGranted {
		return resp, nil
	}
	tok, err := parseToken(resp.Token.FullBytes)
	if err != nil {
		t.Fatalf("token does not parse: %v", err)
	}
	return resp, tok
}

func policyOID(t testing.TB, s string) asn1.RawValue {
	t.Helper()
	der, err := encodeOID(s)
	if err != nil {
		t.Fatal(err)
	}
	return asn1.RawValue{FullBytes: der}
}

// TestTimestampRequests answers good and bad requests: grants carry what
// was asked, rejections the right failInfo, and none is a Go error.
func TestTimestampRequests(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.tsa(t, "root", "tsa")
	data := []byte("document")
	s256, s1 := sha256.Sum256(data), sha1.Sum(data)
	for _, tc := range []struct {
		name    string
		req     []byte
		status  int
		fail    int // bit, when rejected
		certs   int
		nonce   bool
		imprint []byte
	}{
		{"sm3", query(t, data), statusGranted, 0, 1, true, nil},
		{"sha256, no nonce, no cert", query(t, data, func(q *tsReq) {
			q.Imprint = messageImprint{pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}, s256[:]}
			q.Nonce, q.CertReq = nil, false
		}), statusGranted, 0, 0, false, s256[:]},
		{"sha1", query(t, data, func(q *tsReq) { q.Imprint = messageImprint{pkix.AlgorithmIdentifier{Algorithm: oidSHA1}, s1[:]} }), statusGranted, 0, 1, true, s1[:]},
		{"the TSA's policy", query(t, data, func(q *tsReq) { q.Policy = policyOID(t, DefaultPolicy) }), statusGranted, 0, 1, true, nil},
		{"another policy", query(t, data, func(q *tsReq) { q.Policy = policyOID(t, "1.2.3.4") }), statusRejection, failUnacceptedPolicy, 0, false, nil},
		{"version 2", query(t, data, func(q *tsReq) { q.Version = 2 }), statusRejection, failBadRequest, 0, false, nil},
		{"md5", query(t, data, func(q *tsReq) {
			q.Imprint.HashAlgorithm.Algorithm = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}
		}), statusRejection, failBadAlg, 0, false, nil},
		{"short imprint", query(t, data, func(q *tsReq) { q.Imprint.HashedMessage = q.Imprint.HashedMessage[:20] }), statusRejection, failBadDataFormat, 0, false, nil},
		{"huge nonce", query(t, data, func(q *tsReq) { q.Nonce = new(big.Int).Lsh(big.NewInt(1), 300) }), statusRejection, failBadDataFormat, 0, false, nil},
		{"extension", query(t, data, func(q *tsReq) {
			q.Extended = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}}
		}), statusRejection, failUnacceptedExtension, 0, false, nil},
		{"garbage", []byte("GET / HTTP/1.1"), statusRejection, failBadDataFormat, 0, false, nil},
		{"empty", nil, statusRejection, failBadDataFormat, 0, false, nil},
		{"fields out of order", swapNonceAndCertReq(t, query(t, data)), statusRejection, failBadDataFormat, 0, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der, err := e.s.Timestamp(ctx, tenant, "tsa", tc.req)
			if err != nil {
				t.Fatal(err)
			}
			resp, tok := reply(t, der)
			if resp.Status.Status != tc.status {
				t.Fatalf("status %d, want %d: %+v", resp.Status.Status, tc.status, resp.Status)
			}
			if tc.status == statusRejection {
				if resp.Status.FailInfo.BitLength != tc.fail+1 || resp.Status.FailInfo.At(tc.fail) != 1 || len(resp.Status.StatusString) != 1 {
					t.Errorf("failInfo %+v, statusString %d", resp.Status.FailInfo, len(resp.Status.StatusString))
				}
				return
			}
			if len(tok.sd.certs) != tc.certs || (tok.info.Nonce != nil) != tc.nonce || tok.policy != DefaultPolicy {
				t.Errorf("token: %d certs, nonce %v, policy %s", len(tok.sd.certs), tok.info.Nonce, tok.policy)
			}
			if tc.nonce && tok.info.Nonce.Cmp(big.NewInt(0x1234_5678_9abc)) != 0 {
				t.Errorf("nonce %v", tok.info.Nonce)
			}
			if !tok.genTime.Equal(e.clock.Now()) || tok.info.Accuracy.Seconds != 1 {
				t.Errorf("genTime %s, accuracy %+v", tok.genTime, tok.info.Accuracy)
			}
			if tc.imprint != nil && !bytes.Equal(tok.info.MessageImprint.HashedMessage, tc.imprint) {
				t.Errorf("imprint %x", tok.info.MessageImprint.HashedMessage)
			}
		})
	}
}

// swapNonceAndCertReq moves certReq before the nonce.
func swapNonceAndCertReq(t testing.TB, der []byte) []byte {
	t.Helper()
	var seq asn1.RawValue
	if err := unmarshalAll(der, &seq); err != nil {
		t.Fatal(err)
	}
	el, err := elements(seq.Bytes)
	if err != nil || len(el) != 4 {
		t.Fatalf("%d elements: %v", len(el), err)
	}
	body := bytes.Join([][]byte{el[0].FullBytes, el[1].FullBytes, el[3].FullBytes, el[2].FullBytes}, nil)
	return appendTLV(nil, []byte{tagSequence}, body)
}

// TestTimestampSerials checks that serial numbers go 1, 2, 3 and carry
// on after the service restarts, on a new Service over the same store.
func TestTimestampSerials(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.tsa(t, "root", "tsa")
	e.tsa(t, "root", "other")
	serial := func(tsa string) int64 {
		t.Helper()
		der, err := e.s.Timestamp(ctx, tenant, tsa, query(t, []byte("x")))
		if err != nil {
			t.Fatal(err)
		}
		_, tok := reply(t, der)
		return tok.info.SerialNumber.Int64()
	}
	var got []int64
	for range 3 {
		got = append(got, serial("tsa"))
	}
	got = append(got, serial("other"))
	e.s.Sealed()
	e.s = New(e.keys, e.ca, WithClock(e.clock.Now))
	e.unseal(t)
	got = append(got, serial("tsa"), serial("other"))
	if want := []int64{1, 2, 3, 1, 4, 2}; !equalInts(got, want) {
		t.Errorf("serials %v, want %v", got, want)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTimestampAccuracy checks genTime's decimals and the accuracy field.
func TestTimestampAccuracy(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	for _, tc := range []struct {
		accuracy time.Duration
		want     accuracy
		fraction string // of genTime, with the clock at .123456789
	}{
		{time.Second, accuracy{Seconds: 1}, ""},
		{10 * time.Millisecond, accuracy{Millis: 10}, ".12"},
		{1500 * time.Microsecond, accuracy{Millis: 1, Micros: 500}, ".123"},
		{2*time.Second + 7*time.Microsecond, accuracy{Seconds: 2, Micros: 7}, ""},
		{time.Microsecond, accuracy{Micros: 1}, ".123456"},
	} {
		name := "tsa" + strings.ReplaceAll(strings.ReplaceAll(tc.accuracy.String(), ".", "-"), "µ", "u")
		e.tsa(t, "root", name, func(r *TSARequest) { r.Accuracy = tc.accuracy })
		c := clocktest.New(e.clock.Now().Add(123456789))
		e.s.now = c.Now
		der, err := e.s.Timestamp(ctx, tenant, name, query(t, []byte("x")))
		if err != nil {
			t.Fatal(err)
		}
		_, tok := reply(t, der)
		g := string(tok.info.GenTime.Bytes)
		if tok.info.Accuracy != tc.want || g[len(genTimeLayout):] != tc.fraction+"Z" {
			t.Errorf("%s: accuracy %+v, genTime %s", tc.accuracy, tok.info.Accuracy, tok.info.GenTime.Bytes)
		}
		e.s.now = e.clock.Now
	}
}

// TestTimestampUnavailable refuses to stamp for an unknown TSA, and
// answers systemFailure, with an error for logs, when the TSA's
// certificate is revoked or its key rotated.
func TestTimestampUnavailable(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	revoked := e.tsa(t, "root", "revoked")
	rotated := e.tsa(t, "root", "rotated")
	e.revoke(t, revoked.Certificate, pki.KeyCompromise)
	if _, err := e.keys.Rotate(ctx, tenant, rotated.Key); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.Timestamp(ctx, tenant, "nope", query(t, nil))
	wantCode(t, "unknown TSA", err, fault.TSANotFound)
	for _, name := range []string{"revoked", "rotated"} {
		der, err := e.s.Timestamp(ctx, tenant, name, query(t, nil))
		wantCode(t, name, err, fault.TSAUnavailable)
		resp, _ := reply(t, der)
		if resp.Status.Status != statusRejection || resp.Status.FailInfo.At(failSystemFailure) != 1 {
			t.Errorf("%s: %+v", name, resp.Status)
		}
	}
	e.s.Sealed()
	_, err = e.s.Timestamp(ctx, tenant, "revoked", query(t, nil))
	wantCode(t, "sealed", err, fault.Sealed)
}

// TestVerifyTimestamp verifies tokens over data and digests, as
// responses and as bare tokens, and spoils them.
func TestVerifyTimestamp(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.root(t, "stranger")
	a := e.tsa(t, "root", "tsa", func(r *TSARequest) { r.CertIDHash = "sha256" })
	data := []byte("document")
	resp, err := e.s.Timestamp(ctx, tenant, "tsa", query(t, data))
	if err != nil {
		t.Fatal(err)
	}
	noCert, err := e.s.Timestamp(ctx, tenant, "tsa", query(t, data, func(q *tsReq) { q.CertReq = false }))
	if err != nil {
		t.Fatal(err)
	}
	rejected, err := e.s.Timestamp(ctx, tenant, "tsa", []byte("junk"))
	if err != nil {
		t.Fatal(err)
	}
	_, tok := reply(t, resp)
	genTime := tok.genTime
	digest := sm3.Sum(data)
	var r timeStampResp
	if err := unmarshalAll(resp, &r); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		req     TimestampVerifyRequest
		reasons []Reason
	}{
		{"response over data", TimestampVerifyRequest{Token: resp, Data: data}, nil},
		{"bare token over digest", TimestampVerifyRequest{Token: r.Token.FullBytes, Digest: digest[:]}, nil},
		{"other data", TimestampVerifyRequest{Token: resp, Data: []byte("other")}, []Reason{MessageImprintMismatch}},
		{"no certificate", TimestampVerifyRequest{Token: noCert, Data: data}, []Reason{UnknownCertificate}},
		{"untrusted", TimestampVerifyRequest{Token: resp, Data: data, TrustAnchors: TrustAnchors{CAs: []string{"stranger"}}}, []Reason{UntrustedChain}},
		{"rejected", TimestampVerifyRequest{Token: rejected, Data: data}, []Reason{TimestampRejected}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := e.s.VerifyTimestamp(ctx, tenant, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			wantReasons(t, tc.name, rep.Reasons, tc.reasons...)
			if rep.Valid != (tc.reasons == nil) {
				t.Errorf("valid %v", rep.Valid)
			}
			if tc.reasons == nil && (!rep.Time.Equal(genTime) || rep.Serial != "1" || rep.Policy != DefaultPolicy ||
				rep.HashAlgorithm != "sm3" || rep.Nonce != "123456789abc" || rep.Accuracy != time.Second ||
				rep.TSA.Serial != trimSerial(a.Certificate) || rep.Chain != ChainTrusted || rep.Revocation.Status != Good) {
				t.Errorf("report %+v", rep)
			}
		})
	}
	// Revoked after genTime: still valid, the revocation reported.
	e.clock.Advance(time.Minute)
	e.revoke(t, a.Certificate, pki.KeyCompromise)
	rep, err := e.s.VerifyTimestamp(ctx, tenant, TimestampVerifyRequest{Token: resp, Data: data})
	if err != nil || !rep.Valid || rep.Revocation.Status != Revoked || !rep.Revocation.RevokedAt.After(genTime) {
		t.Errorf("revoked later: %+v, %v", rep, err)
	}
	for _, tc := range []struct {
		name string
		req  TimestampVerifyRequest
		code fault.Code
	}{
		{"garbage", TimestampVerifyRequest{Token: []byte("junk")}, fault.CMSMalformed},
		{"signed data", TimestampVerifyRequest{Token: e.signedBy(t, "root")}, fault.CMSMalformed},
		{"data and digest", TimestampVerifyRequest{Token: resp, Data: data, Digest: digest[:]}, fault.InvalidArgument},
	} {
		_, err := e.s.VerifyTimestamp(ctx, tenant, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
}

// signedBy returns a SignedData by a new key of ca.
func (e *env) signedBy(t testing.TB, ca string) []byte {
	t.Helper()
	e.key(t, ca, "signer-"+ca)
	return e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "signer-" + ca}, Content: []byte("x")})
}

// TestNewTimestampRequest: the client-side builder's request is granted,
// with its nonce echoed.
func TestNewTimestampRequest(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	a := e.tsa(t, "root", "tsa")
	req, nonce, err := NewTimestampRequest(rand.Reader, bytes.NewReader([]byte("a document")))
	if err != nil {
		t.Fatal(err)
	}
	der, err := e.s.Timestamp(ctx, tenant, a.Name, req)
	if err != nil {
		t.Fatal(err)
	}
	resp, tok := reply(t, der)
	if resp.Status.Status != statusGranted || tok == nil || tok.info.Nonce == nil || tok.info.Nonce.Cmp(nonce) != 0 {
		t.Fatalf("reply: status %d, token %v", resp.Status.Status, tok != nil)
	}
}
