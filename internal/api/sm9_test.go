package api

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm9"

	sm9pkg "github.com/mimacrypto/mima/internal/sm9"
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

// TestSM9BatchBound checks that SM9 batches take the sm9.MaxBatch items
// that docs/sm9.md promises (an enrolment batch), not the key service's
// smaller bound, and refuse one more.
func TestSM9BatchBound(t *testing.T) {
	n := newTestNode(t)
	tok := n.tenant("acme")
	n.do("POST", "/v1/keys", tok, map[string]string{"name": "kgc1", "type": "sm9-sign-master"})
	items := func(k int) []map[string]string {
		out := make([]map[string]string, k)
		for i := range out {
			out[i] = map[string]string{"id": "rtu-" + strconv.Itoa(i), "input": "aGk=", "signature": "MA=="}
		}
		return out
	}
	var got struct {
		Batch []sdk.SM9VerifyResult `json:"batch"`
	}
	if r := n.do("POST", "/v1/keys/kgc1/sm9/verify", tok, map[string]any{"batch": items(1001)}); r.status != http.StatusOK {
		t.Fatalf("a batch of 1001: %d %.300s", r.status, r.body)
	} else {
		r.json(t, &got)
	}
	if len(got.Batch) != 1001 || got.Batch[1000].Valid {
		t.Fatalf("a batch of 1001 answered %d items", len(got.Batch))
	}
	if r := n.do("POST", "/v1/keys/kgc1/sm9/verify", tok, map[string]any{"batch": items(sm9pkg.MaxBatch + 1)}); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "batch_too_large") {
		t.Fatalf("a batch of %d: %d %.300s", sm9pkg.MaxBatch+1, r.status, r.body)
	}
}

// TestSM9ExtractStream asks for an extraction batch as JSON lines: one
// line per item, in order, an item that does not decode failing alone.
func TestSM9ExtractStream(t *testing.T) {
	n := newTestNode(t)
	tok := n.tenant("acme")
	n.do("POST", "/v1/keys", tok, map[string]string{"name": "kgc1", "type": "sm9-sign-master"})
	hosted := map[string]bool{"hosted": true}
	batch := []any{
		map[string]any{"id": "rtu-1", "deliver": hosted},
		map[string]any{"id": "rtu-2", "hid": "two", "deliver": hosted},
		map[string]any{"id": "rtu-3", "deliver": map[string]string{"password": "short"}},
		map[string]any{"id": "rtu-4", "deliver": hosted},
	}
	r := n.do("POST", "/v1/keys/kgc1/sm9/extract", tok, map[string]any{"batch": batch}, "Accept", sdk.MediaJSONLines)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != sdk.MediaJSONLines {
		t.Fatalf("stream: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	want := []string{"rtu-1", "invalid_argument", "invalid_argument", "rtu-4"}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d: %s", len(lines), len(want), r.body)
	}
	for i, l := range lines {
		if !strings.Contains(l, want[i]) {
			t.Errorf("line %d is %s, want %s", i, l, want[i])
		}
	}
	if r := n.do("POST", "/v1/keys/nokgc/sm9/extract", tok, map[string]any{"batch": batch}, "Accept", sdk.MediaJSONLines); r.status != http.StatusNotFound {
		t.Fatalf("a stream from an unknown KGC: %d %s", r.status, r.body)
	}
}

// TestSM9EncapsulationAndBatches walks encapsulation and decapsulation,
// and encryption and decryption in batches, where an item's bad mode
// fails that item alone.
func TestSM9EncapsulationAndBatches(t *testing.T) {
	n := newTestNode(t)
	tok := n.tenant("acme")
	n.do("POST", "/v1/keys", tok, map[string]string{"name": "ekgc", "type": "sm9-enc-master"})
	n.do("POST", "/v1/keys/ekgc/sm9/extract", tok, map[string]any{"id": "dev-1", "deliver": map[string]bool{"hosted": true}})
	var enc sdk.SM9Encapsulated
	n.do("POST", "/v1/keys/ekgc/sm9/encapsulate", tok, map[string]any{"id": "dev-1", "length": 32}).json(t, &enc)
	var dec sdk.SM9DecapsulateResult
	n.do("POST", "/v1/keys/ekgc/sm9/decapsulate", tok, map[string]any{"id": "dev-1", "length": 32, "encapsulation": enc.Encapsulation}).json(t, &dec)
	if len(enc.Key) != 32 || string(dec.Key) != string(enc.Key) {
		t.Fatalf("encapsulated %x, decapsulated %x", enc.Key, dec.Key)
	}
	var cts struct{ Batch []sdk.SM9EncryptResult }
	n.do("POST", "/v1/keys/ekgc/sm9/encrypt", tok, map[string]any{"batch": []map[string]string{
		{"id": "dev-1", "plaintext": "aGk="}, {"id": "dev-1", "plaintext": "aGk=", "mode": "rot13"}, {"id": "dev-1", "plaintext": "aGk=", "mode": "sm4-cbc"},
	}}).json(t, &cts)
	if len(cts.Batch) != 3 || cts.Batch[1].Error == nil || cts.Batch[1].Error.Code != "invalid_argument" || cts.Batch[2].Ciphertext == nil {
		t.Fatalf("encrypt batch: %+v", cts.Batch)
	}
	var pts struct{ Batch []sdk.SM9DecryptResult }
	n.do("POST", "/v1/keys/ekgc/sm9/decrypt", tok, map[string]any{"batch": []map[string]any{
		{"id": "dev-1", "ciphertext": cts.Batch[0].Ciphertext}, {"id": "dev-1", "ciphertext": "AAAA"}, {"id": "dev-1", "ciphertext": cts.Batch[2].Ciphertext},
	}}).json(t, &pts)
	if len(pts.Batch) != 3 || string(pts.Batch[0].Plaintext) != "hi" || pts.Batch[1].Error == nil || pts.Batch[1].Error.Code != "decrypt_failed" || string(pts.Batch[2].Plaintext) != "hi" {
		t.Fatalf("decrypt batch: %+v", pts.Batch)
	}
}
