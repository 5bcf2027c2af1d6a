package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestFPEAndMaskRoutes: /fpe keeps the format and /fpe-decrypt undoes it;
// bad input is invalid_argument; /mask masks by kind; the values appear in
// no audit record.
func TestFPEAndMaskRoutes(t *testing.T) {
	n, tok := keyNode(t)
	var enc sdk.FPEResult
	r := n.do("POST", "/v1/keys/k4/fpe", tok, sdk.FPERequest{Alphabet: "0123456789", Input: "13812345678", Tweak: "phone"})
	r.json(t, &enc)
	if r.status != http.StatusOK || len(enc.Output) != 11 || enc.Output == "13812345678" || enc.KeyVersion != 1 {
		t.Fatalf("fpe: %d %s", r.status, r.body)
	}
	var dec sdk.FPEResult
	n.do("POST", "/v1/keys/k4/fpe-decrypt", tok, sdk.FPERequest{Input: enc.Output, Tweak: "phone", Version: enc.KeyVersion}).json(t, &dec)
	if dec.Output != "13812345678" {
		t.Errorf("fpe-decrypt = %q", dec.Output)
	}
	var m sdk.MaskResult
	n.do("POST", "/v1/mask", tok, sdk.MaskRequest{Kind: "phone", Input: "13812345678"}).json(t, &m)
	if m.Output != "138****5678" {
		t.Errorf("mask = %q", m.Output)
	}
	for _, bad := range []struct {
		path string
		body any
	}{
		{"/v1/keys/k4/fpe", sdk.FPERequest{Input: "1381234567a"}},
		{"/v1/keys/k4/fpe", sdk.FPERequest{Input: "123"}},
		{"/v1/keys/k4/fpe", sdk.FPERequest{Alphabet: "aa", Input: "aaaaaaa"}},
		{"/v1/keys/k2/fpe", sdk.FPERequest{Input: "13812345678"}},
		{"/v1/mask", sdk.MaskRequest{Kind: "phone", Input: "1381234567a"}},
		{"/v1/mask", sdk.MaskRequest{Kind: "iban", Input: "13812345678"}},
	} {
		r := n.do("POST", bad.path, tok, bad.body)
		if r.status < 400 || (r.errCode() != "invalid_argument" && r.errCode() != "key_type_mismatch") {
			t.Errorf("%s %+v: %d %s", bad.path, bad.body, r.status, r.body)
		}
		if strings.Contains(string(r.body), "1381234567") {
			t.Errorf("%s: the error quotes the input: %s", bad.path, r.body)
		}
	}
	for _, rec := range n.records() {
		if s := fmt.Sprintf("%+v", rec); strings.Contains(s, "1381234567") || strings.Contains(s, enc.Output) {
			t.Errorf("an audit record holds a value: %s", s)
		}
	}
}
