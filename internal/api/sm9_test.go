package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm9"

	"github.com/mimacrypto/mima/sdk"
)

// TestSM9ScriptInterface walks the interface of issue 14 that scripts rely
// on: a KGC, a hosted identity, sign, verify (with a token and without),
// the public master key read back by gmsm, and revocation.
func TestSM9ScriptInterface(t *testing.T) {
	n := newTestNode(t)
	tok := n.tenant("acme")
	if r := n.do("POST", "/v1/keys", tok, map[string]string{"name": "kgc1", "type": "sm9-sign-master"}); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := "rtu-0042@field-7"
	var x sdk.SM9Extracted
	if r := n.do("POST", "/v1/keys/kgc1/sm9/extract", tok, map[string]any{"id": id, "deliver": map[string]bool{"hosted": true}}); r.status != http.StatusOK {
		t.Fatalf("extract: %d %s", r.status, r.body)
	} else {
		r.json(t, &x)
	}
	if x.ID != id || x.Key == "" {
		t.Fatalf("extract answered %+v", x)
	}
	var sig sdk.SM9SignResult
	n.do("POST", "/v1/keys/kgc1/sm9/sign", tok, map[string]string{"id": id, "input": "aGk="}).json(t, &sig)
	verify := map[string]any{"id": id, "input": "aGk=", "signature": sig.Signature}
	for _, c := range []struct{ path, token string }{{"/v1/keys/kgc1/sm9/verify", tok}, {"/v1/pki/acme/sm9/kgc1/verify", ""}} {
		var v sdk.SM9VerifyResult
		if r := n.do("POST", c.path, c.token, verify); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		} else {
			r.json(t, &v)
		}
		if !v.Valid {
			t.Fatalf("%s: %+v", c.path, v)
		}
	}
	r := n.do("GET", "/v1/pki/acme/sm9/kgc1/public", "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "SM9 SIGN MASTER PUBLIC KEY") {
		t.Fatalf("public key: %d %s", r.status, r.body)
	}
	pub, err := sm9.ParseSignMasterPublicKeyPEM(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if !sm9.VerifyASN1(pub, []byte(id), 1, []byte("hi"), sig.Signature) {
		t.Fatal("the signature does not verify with gmsm and the published master key")
	}
	if r := n.do("POST", "/v1/keys/kgc1/sm9/revoke", tok, map[string][]string{"ids": {id}}); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	var v sdk.SM9VerifyResult
	n.do("POST", "/v1/pki/acme/sm9/kgc1/verify", "", verify).json(t, &v)
	if v.Valid || v.Reason != "identity_revoked" {
		t.Fatalf("verify after revocation: %+v", v)
	}
	if r := n.do("POST", "/v1/keys/kgc1/sm9/sign", tok, map[string]string{"id": id, "input": "aGk="}); r.status != http.StatusConflict || !strings.Contains(string(r.body), "identity_revoked") {
		t.Fatalf("sign after revocation: %d %s", r.status, r.body)
	}
	var l sdk.SM9RevocationList
	n.do("GET", "/v1/pki/acme/sm9/kgc1/revoked", "", nil).json(t, &l)
	if !sm9.VerifyASN1(pub, []byte(l.Signer), 1, l.Body, l.Signature) || !strings.Contains(string(l.Body), id) {
		t.Fatalf("revocation list %s does not verify or lacks the identity", l.Body)
	}
}
