package api

import (
	"bytes"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mimacrypto/mima/internal/clocktest"
	"github.com/mimacrypto/mima/sdk"
)

// dnsQuery is a DNS query in wire form.
func dnsQuery() []byte {
	b, err := new(dns.Msg).SetQuestion("www.example.", dns.TypeA).Pack()
	if err != nil {
		panic(err)
	}
	return b
}

// TestTSIGRoutes: tsig/sign adds a TSIG record with HMAC-SM3 that
// tsig/verify accepts, for a request and for the messages of a
// multi-message answer (request MAC, then timers only), and verify names
// the TSIG error of a flipped byte (BADSIG), another key name or algorithm
// (BADKEY) and a time outside the fudge (BADTIME).
func TestTSIGRoutes(t *testing.T) {
	clk := clocktest.New(time.Unix(1_800_000_000, 0))
	n := newTestNode(t, WithTSIGClock(clk.Now))
	tok := n.tenant("acme")
	for _, k := range []sdk.CreateKeyRequest{{Name: "xfr", Type: "hmac-sm3"}, {Name: "k4", Type: "sm4"}} {
		if r := n.do("POST", "/v1/keys", tok, k); r.status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", k.Name, r.status, r.body)
		}
	}
	sign := func(req sdk.TSIGSignRequest) sdk.TSIGSignResult {
		t.Helper()
		var res sdk.TSIGSignResult
		r := n.do("POST", "/v1/keys/xfr/tsig/sign", tok, req)
		if r.status != http.StatusOK {
			t.Fatalf("sign: %d %s", r.status, r.body)
		}
		r.json(t, &res)
		return res
	}
	verify := func(req sdk.TSIGVerifyRequest) sdk.TSIGVerifyResult {
		t.Helper()
		var res sdk.TSIGVerifyResult
		r := n.do("POST", "/v1/keys/xfr/tsig/verify", tok, req)
		if r.status != http.StatusOK {
			t.Fatalf("verify: %d %s", r.status, r.body)
		}
		r.json(t, &res)
		return res
	}

	query := sign(sdk.TSIGSignRequest{Message: dnsQuery()})
	m := new(dns.Msg)
	if err := m.Unpack(query.Message); err != nil {
		t.Fatal(err)
	}
	if ts := m.IsTsig(); ts == nil || ts.Hdr.Name != "xfr." || ts.Algorithm != "hmac-sm3." || ts.MACSize != 32 || ts.Fudge != 300 ||
		ts.TimeSigned != 1_800_000_000 || ts.MAC != hex.EncodeToString(query.MAC) {
		t.Fatalf("TSIG record: %v", m.IsTsig())
	}
	if v := verify(sdk.TSIGVerifyRequest{Message: query.Message}); !v.Valid || !bytes.Equal(v.MAC, query.MAC) {
		t.Fatalf("verify the query: %+v", v)
	}

	// A two-message answer (RFC 8945 section 5.3.1).
	answer := new(dns.Msg).SetReply(m)
	answer.Extra = nil
	wire, _ := answer.Pack()
	first := sign(sdk.TSIGSignRequest{Message: wire, RequestMAC: query.MAC})
	second := sign(sdk.TSIGSignRequest{Message: wire, RequestMAC: first.MAC, TimersOnly: true})
	for _, c := range []struct {
		name string
		req  sdk.TSIGVerifyRequest
		want string
	}{
		{"first answer", sdk.TSIGVerifyRequest{Message: first.Message, RequestMAC: query.MAC}, ""},
		{"second answer", sdk.TSIGVerifyRequest{Message: second.Message, RequestMAC: first.MAC, TimersOnly: true}, ""},
		{"second answer as a first", sdk.TSIGVerifyRequest{Message: second.Message, RequestMAC: first.MAC}, "BADSIG"},
		{"answer to another request", sdk.TSIGVerifyRequest{Message: first.Message, RequestMAC: second.MAC}, "BADSIG"},
		{"flipped byte", sdk.TSIGVerifyRequest{Message: flip(query.Message, 13)}, "BADSIG"},
		{"other key name", sdk.TSIGVerifyRequest{Message: query.Message, KeyName: "other.example."}, "BADKEY"},
		{"other algorithm", sdk.TSIGVerifyRequest{Message: query.Message, Algorithm: "hmac-sha256."}, "BADKEY"},
	} {
		if v := verify(c.req); v.Valid != (c.want == "") || v.TSIGError != c.want {
			t.Errorf("%s: %+v, want error %q", c.name, v, c.want)
		}
	}
	clk.Advance(300 * time.Second)
	if v := verify(sdk.TSIGVerifyRequest{Message: query.Message}); !v.Valid {
		t.Errorf("at the fudge's edge: %+v", v)
	}
	clk.Advance(time.Second)
	if v := verify(sdk.TSIGVerifyRequest{Message: query.Message}); v.Valid || v.TSIGError != "BADTIME" {
		t.Errorf("past the fudge: %+v, want BADTIME", v)
	}

	for _, c := range []struct {
		name, path string
		body       any
		code       string
	}{
		{"sign with an sm4 key", "/v1/keys/k4/tsig/sign", sdk.TSIGSignRequest{Message: dnsQuery()}, "key_type_mismatch"},
		{"verify with an sm4 key", "/v1/keys/k4/tsig/verify", sdk.TSIGVerifyRequest{Message: query.Message, KeyName: "xfr."}, "key_type_mismatch"},
		{"not a DNS message", "/v1/keys/xfr/tsig/sign", sdk.TSIGSignRequest{Message: []byte("hello")}, "invalid_argument"},
		{"no TSIG to verify", "/v1/keys/xfr/tsig/verify", sdk.TSIGVerifyRequest{Message: dnsQuery()}, "invalid_argument"},
		{"bad key name", "/v1/keys/xfr/tsig/sign", sdk.TSIGSignRequest{Message: dnsQuery(), KeyName: "a..b"}, "invalid_argument"},
		{"fudge too large", "/v1/keys/xfr/tsig/sign", sdk.TSIGSignRequest{Message: dnsQuery(), Fudge: 70000}, "invalid_argument"},
	} {
		if r := n.do("POST", c.path, tok, c.body); r.status != http.StatusBadRequest || r.errCode() != c.code {
			t.Errorf("%s: %d %s, want 400 %s", c.name, r.status, r.body, c.code)
		}
	}
	if r := n.do("POST", "/v1/keys/absent/tsig/sign", tok, sdk.TSIGSignRequest{Message: dnsQuery()}); r.status != http.StatusNotFound {
		t.Errorf("absent key: %d %s", r.status, r.body)
	}
}

// flip returns msg with the byte at i inverted.
func flip(msg []byte, i int) []byte {
	out := bytes.Clone(msg)
	out[i] ^= 0xff
	return out
}
