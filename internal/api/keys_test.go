package api

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/interoptest"
	"github.com/mimacrypto/mima/sdk"
)

// keyNode is a test node with a tenant and one key of each type.
func keyNode(t testing.TB) (*testNode, string) {
	t.Helper()
	n := newTestNode(t)
	tok := n.tenant("acme")
	for _, k := range []sdk.CreateKeyRequest{{Name: "k4", Type: "sm4"}, {Name: "k2", Type: "sm2"}, {Name: "km", Type: "hmac-sm3"}} {
		if r := n.do("POST", "/v1/keys", tok, k); r.status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", k.Name, r.status, r.body)
		}
	}
	return n, tok
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	n, tok := keyNode(t)
	for _, key := range []string{"k4", "k2"} {
		var enc sdk.EncryptResult
		r := n.do("POST", "/v1/keys/"+key+"/encrypt", tok, map[string]string{"plaintext": "aGVsbG8="})
		r.json(t, &enc)
		if r.status != 200 || !strings.HasPrefix(enc.Ciphertext, "mima:v1:") {
			t.Fatalf("%s encrypt: %d %s", key, r.status, r.body)
		}
		var dec sdk.DecryptResult
		n.do("POST", "/v1/keys/"+key+"/decrypt", tok, map[string]string{"ciphertext": enc.Ciphertext}).json(t, &dec)
		if string(dec.Plaintext) != "hello" {
			t.Fatalf("%s decrypt: %q", key, dec.Plaintext)
		}
	}
}

func TestBatchOneBadItemFailsOnlyItself(t *testing.T) {
	n, tok := keyNode(t)
	var enc batchAnswer[sdk.EncryptResult]
	n.do("POST", "/v1/keys/k4/encrypt", tok, map[string]any{"batch": []map[string]string{{"plaintext": "YQ=="}, {"plaintext": "Yg=="}}}).json(t, &enc)
	if len(enc.Batch) != 2 || enc.Batch[0].Ciphertext == "" || enc.Batch[1].Ciphertext == "" {
		t.Fatalf("batch encrypt: %+v", enc)
	}
	tampered := enc.Batch[1].Ciphertext[:len(enc.Batch[1].Ciphertext)-4] + "AAA="
	r := n.do("POST", "/v1/keys/k4/decrypt", tok, map[string]any{"batch": []map[string]string{
		{"ciphertext": enc.Batch[0].Ciphertext}, {"ciphertext": tampered}, {"ciphertext": "garbage"},
	}})
	var dec batchAnswer[sdk.DecryptResult]
	r.json(t, &dec)
	if r.status != 200 || len(dec.Batch) != 3 || string(dec.Batch[0].Plaintext) != "a" {
		t.Fatalf("batch decrypt: %d %s", r.status, r.body)
	}
	for i := 1; i < 3; i++ {
		if dec.Batch[i].Error == nil || dec.Batch[i].Error.Code != "decrypt_failed" || dec.Batch[i].Plaintext != nil {
			t.Errorf("item %d: %+v", i, dec.Batch[i])
		}
	}
	// The wire form of a failed item is {"error":{"code","message"}} alone.
	if !strings.Contains(string(r.body), `{"error":{"code":"decrypt_failed"`) {
		t.Fatalf("failed item shape: %s", r.body)
	}
	items := make([]map[string]string, 1001)
	for i := range items {
		items[i] = map[string]string{"plaintext": "YQ=="}
	}
	if r := n.do("POST", "/v1/keys/k4/encrypt", tok, map[string]any{"batch": items}); r.status != 400 || r.errCode() != "batch_too_large" {
		t.Fatalf("oversized batch: %d %s", r.status, r.body)
	}
}

func TestKeyErrorPaths(t *testing.T) {
	n, tok := keyNode(t)
	other := n.tenant("other")
	var enc sdk.EncryptResult
	n.do("POST", "/v1/keys/k4/encrypt", tok, map[string]string{"plaintext": "YQ=="}).json(t, &enc)
	n.do("POST", "/v1/keys/k4/rotate", tok, nil)
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"sign with sm4", "POST", "/v1/keys/k4/sign", tok, map[string]string{"input": "YQ=="}, 400, "key_type_mismatch"},
		{"encrypt with hmac", "POST", "/v1/keys/km/encrypt", tok, map[string]string{"plaintext": "YQ=="}, 400, "key_type_mismatch"},
		{"mac with sm2", "POST", "/v1/keys/k2/mac", tok, map[string]string{"input": "YQ=="}, 400, "key_type_mismatch"},
		{"absent key", "POST", "/v1/keys/none/encrypt", tok, map[string]string{"plaintext": "YQ=="}, 404, "key_not_found"},
		{"other tenant's key", "POST", "/v1/keys/k4/decrypt", other, map[string]string{"ciphertext": enc.Ciphertext}, 404, "key_not_found"},
		{"bad base64", "POST", "/v1/keys/k4/encrypt", tok, `{"plaintext":"***"}`, 400, "invalid_base64"},
		{"unknown field", "POST", "/v1/keys/k4/encrypt", tok, `{"plain":"YQ=="}`, 400, "unknown_field"},
		{"bad type", "POST", "/v1/keys", tok, map[string]string{"name": "x", "type": "rsa"}, 400, "invalid_argument"},
		{"duplicate", "POST", "/v1/keys", tok, map[string]string{"name": "k4", "type": "sm4"}, 409, "already_exists"},
		{"bad rotate period", "POST", "/v1/keys", tok, map[string]string{"name": "y", "type": "sm4", "auto_rotate_period": "often"}, 400, "invalid_argument"},
		{"pending days out of range", "DELETE", "/v1/keys/k4?pending_days=3", tok, nil, 400, "invalid_argument"},
		{"random too large", "POST", "/v1/random", tok, map[string]int{"bytes": 1<<20 + 1}, 400, "invalid_argument"},
	} {
		r := n.do(tc.method, tc.path, tc.token, tc.body)
		if r.status != tc.status || r.errCode() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
	}
	// Version below the minimum.
	n.do("POST", "/v1/keys/k4/config", tok, map[string]int{"min_decryption_version": 2})
	if r := n.do("POST", "/v1/keys/k4/decrypt", tok, map[string]string{"ciphertext": enc.Ciphertext}); r.status != 400 || r.errCode() != "key_version_below_minimum" {
		t.Fatalf("below minimum: %d %s", r.status, r.body)
	}
	// Disabled, then pending deletion.
	n.do("POST", "/v1/keys/k2/disable", tok, nil)
	if r := n.do("POST", "/v1/keys/k2/sign", tok, map[string]string{"input": "YQ=="}); r.errCode() != "key_disabled" {
		t.Fatalf("disabled: %d %s", r.status, r.body)
	}
	n.do("POST", "/v1/keys/k2/enable", tok, nil)
	if r := n.do("DELETE", "/v1/keys/k2?pending_days=7", tok, nil); r.status != 200 {
		t.Fatalf("schedule deletion: %d %s", r.status, r.body)
	}
	if r := n.do("POST", "/v1/keys/k2/sign", tok, map[string]string{"input": "YQ=="}); r.errCode() != "key_pending_deletion" {
		t.Fatalf("pending deletion: %d %s", r.status, r.body)
	}
	var k sdk.Key
	n.do("POST", "/v1/keys/k2/cancel-delete", tok, nil).json(t, &k)
	if k.State != "disabled" || k.DeletionDate != nil {
		t.Fatalf("after cancel: %+v", k)
	}
}

// TestOpenSSLVerifiesAPISignature fetches the public key PEM through the
// API and lets OpenSSL 3 verify a signature made through the API.
func TestOpenSSLVerifiesAPISignature(t *testing.T) {
	n, tok := keyNode(t)
	msg := []byte("a medical record")
	var sig sdk.SignResult
	n.do("POST", "/v1/keys/k2/sign", tok, map[string]string{"input": base64.StdEncoding.EncodeToString(msg)}).json(t, &sig)
	pem := n.do("GET", "/v1/keys/k2/public", tok, nil)
	if pem.header.Get("Content-Type") != "application/x-pem-file" || !bytes.HasPrefix(pem.body, []byte("-----BEGIN PUBLIC KEY-----")) {
		t.Fatalf("public key: %s", pem.body)
	}
	dir := t.TempDir()
	interoptest.WriteFiles(t, dir, map[string][]byte{"pub.pem": pem.body, "msg": msg, "sig": sig.Signature})
	out := interoptest.OpenSSL(t, dir, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
		"-sigfile", "sig", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678")
	if !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Fatalf("openssl: %s", out)
	}
}

func TestHashStreamAndJSONAgree(t *testing.T) {
	n, tok := keyNode(t)
	big := bytes.Repeat([]byte("abcd"), 3<<20) // 12 MiB, over the body limit
	req, _ := http.NewRequest("POST", n.srv.URL+"/v1/hash", bytes.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := n.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var streamed sdk.HashResult
	if err := json.NewDecoder(resp.Body).Decode(&streamed); err != nil || resp.StatusCode != 200 {
		t.Fatalf("streamed hash: %d %v", resp.StatusCode, err)
	}
	if want := sm3.Sum(big); !bytes.Equal(streamed.Hash, want[:]) {
		t.Fatal("streamed SM3 differs from SM3 of the same bytes")
	}
	var small sdk.HashResult
	n.do("POST", "/v1/hash", tok, map[string]string{"input": "YWJj"}).json(t, &small)
	// GB/T 32905-2016 Appendix A example 1: SM3("abc").
	if got := hex.EncodeToString(small.Hash); got != "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0" {
		t.Fatalf("SM3(abc) = %s", got)
	}
	// A JSON body over the limit is still refused.
	huge := `{"input":"` + strings.Repeat("A", 5<<20) + `"}`
	if r := n.do("POST", "/v1/hash", tok, huge); r.status != 413 {
		t.Fatalf("oversized JSON hash: %d", r.status)
	}
}

// TestKeyShowsEncryptions: GET /v1/keys/{name} shows, per version, the
// SM4-GCM encryptions counted against its nonce budget.
func TestKeyShowsEncryptions(t *testing.T) {
	n, tok := keyNode(t)
	n.do("POST", "/v1/keys/k4/encrypt", tok, map[string]string{"plaintext": "YQ=="})
	n.do("POST", "/v1/keys/k4/encrypt", tok, map[string]any{"batch": []map[string]string{{"plaintext": "YQ=="}, {"plaintext": "Yg=="}}})
	n.do("POST", "/v1/keys/k2/encrypt", tok, map[string]string{"plaintext": "YQ=="})
	for key, want := range map[string]uint64{"k4": 3, "k2": 0} {
		r := n.do("GET", "/v1/keys/"+key, tok, nil)
		var k sdk.Key
		r.json(t, &k)
		if r.status != 200 || len(k.Versions) != 1 || k.Versions[0].Encryptions != want {
			t.Errorf("%s: %d %s, want %d encryptions", key, r.status, r.body, want)
		}
	}
}

// A signature made by an older version verifies without naming the
// version, and the answer names the version that verified it (issue 13).
func TestVerifyAfterRotationFindsTheSigningVersion(t *testing.T) {
	n, tok := keyNode(t)
	msg := map[string]string{"input": "bWVzc2FnZQ=="}
	var sig sdk.SignResult
	n.do("POST", "/v1/keys/k2/sign", tok, msg).json(t, &sig)
	if sig.KeyVersion != 1 {
		t.Fatalf("sign answer names version %d, want 1", sig.KeyVersion)
	}
	if r := n.do("POST", "/v1/keys/k2/rotate", tok, nil); r.status != 200 {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	var newer sdk.SignResult
	n.do("POST", "/v1/keys/k2/sign", tok, msg).json(t, &newer)
	for _, tc := range []struct {
		name      string
		sig       []byte
		input     string
		valid     bool
		versionIs int
	}{
		{"version 1 signature", sig.Signature, msg["input"], true, 1},
		{"version 2 signature", newer.Signature, msg["input"], true, 2},
		{"other message", sig.Signature, "b3RoZXI=", false, 0},
	} {
		var got map[string]any
		r := n.do("POST", "/v1/keys/k2/verify", tok, map[string]any{"input": tc.input, "signature": tc.sig})
		r.json(t, &got)
		if r.status != 200 || got["valid"] != tc.valid {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
			continue
		}
		if v, _ := got["key_version"].(float64); int(v) != tc.versionIs {
			t.Errorf("%s: key_version %v, want %d (%s)", tc.name, got["key_version"], tc.versionIs, r.body)
		}
	}
	// Below min_decryption_version a version no longer verifies.
	if r := n.do("POST", "/v1/keys/k2/config", tok, map[string]int{"min_decryption_version": 2, "min_encryption_version": 2}); r.status != 200 {
		t.Fatalf("config: %d %s", r.status, r.body)
	}
	var got map[string]any
	n.do("POST", "/v1/keys/k2/verify", tok, map[string]any{"input": msg["input"], "signature": sig.Signature}).json(t, &got)
	if got["valid"] != false {
		t.Fatalf("a version below the minimum verified: %v", got)
	}
}

// One item of bad base64 fails that item only (issue 13).
func TestBatchBadBase64FailsOnlyItsItem(t *testing.T) {
	n, tok := keyNode(t)
	for _, tc := range []struct{ path, field string }{
		{"/v1/keys/k4/encrypt", "plaintext"},
		{"/v1/keys/k2/sign", "input"},
		{"/v1/keys/km/mac", "input"},
	} {
		r := n.do("POST", tc.path, tok, map[string]any{"batch": []map[string]string{{tc.field: "YQ=="}, {tc.field: "not base64!"}}})
		var got struct {
			Batch []struct {
				Error *sdk.ItemError `json:"error"`
			} `json:"batch"`
		}
		r.json(t, &got)
		if r.status != 200 || len(got.Batch) != 2 {
			t.Errorf("%s: %d %s", tc.path, r.status, r.body)
			continue
		}
		if got.Batch[0].Error != nil || got.Batch[1].Error == nil || got.Batch[1].Error.Code != "invalid_base64" {
			t.Errorf("%s: items %s", tc.path, r.body)
		}
	}
}

// Without a version the public key is the newest version's alone, so that
// `> key.pem` gives OpenSSL the key that signs today; all_versions=true
// gives every version, each headed by a comment naming it (issue 13).
func TestPublicKeyIsTheNewestUnlessAllAsked(t *testing.T) {
	n, tok := keyNode(t)
	if r := n.do("POST", "/v1/keys/k2/rotate", tok, nil); r.status != 200 {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	v1 := n.do("GET", "/v1/keys/k2/public?version=1", tok, nil).body
	v2 := n.do("GET", "/v1/keys/k2/public?version=2", tok, nil).body
	if bytes.Equal(v1, v2) || !bytes.HasPrefix(v2, []byte("-----BEGIN PUBLIC KEY-----")) {
		t.Fatalf("versions: %s %s", v1, v2)
	}
	if got := n.do("GET", "/v1/keys/k2/public", tok, nil).body; !bytes.Equal(got, v2) {
		t.Fatalf("default public key is not the newest version's alone:\n%s", got)
	}
	all := n.do("GET", "/v1/keys/k2/public?all_versions=true", tok, nil)
	want := "# k2 version 1\n" + string(v1) + "# k2 version 2\n" + string(v2)
	if all.status != 200 || string(all.body) != want {
		t.Fatalf("all versions: %d\n%s", all.status, all.body)
	}
	if r := n.do("GET", "/v1/keys/k2/public?all_versions=maybe", tok, nil); r.status != 400 || r.errCode() != "invalid_argument" {
		t.Fatalf("bad all_versions: %d %s", r.status, r.body)
	}
}

// Durations accept days wherever the API takes one (issue 13).
func TestDurationsAcceptDays(t *testing.T) {
	n, tok := keyNode(t)
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/tokens", map[string]any{"policies": []string{"admin"}, "ttl": "30d"}},
		{"POST", "/v1/keys", map[string]any{"name": "rotating", "type": "sm4", "auto_rotate_period": "90d"}},
		{"POST", "/v1/ca", map[string]any{"name": "root1", "type": "root", "subject": map[string]string{"common_name": "Root"}, "ttl": "3650d"}},
	} {
		if r := n.do(tc.method, tc.path, tok, tc.body); r.status >= 300 {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, r.status, r.body)
		}
	}
	if r := n.do("POST", "/v1/tokens", tok, map[string]any{"policies": []string{"admin"}, "ttl": "1.5d"}); r.status != 400 || r.errCode() != "invalid_argument" {
		t.Errorf("ttl 1.5d: %d %s", r.status, r.body)
	}
}
