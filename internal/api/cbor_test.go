package api

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/mimacrypto/mima/sdk"
)

// doCBOR sends v encoded as CBOR (or raw bytes as they are) with
// Content-Type application/cbor.
func (n *testNode) doCBOR(method, path, token string, v any) response {
	n.t.Helper()
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = cbor.Marshal(v); err != nil {
			n.t.Fatal(err)
		}
	}
	return n.do(method, path, token, b, "Content-Type", "application/cbor")
}

// cbor decodes a CBOR answer, which must say so in its Content-Type.
func (r response) cbor(t testing.TB, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/cbor" {
		t.Fatalf("answer is %s, not CBOR: %d %s", ct, r.status, r.body)
	}
	if err := cbor.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding the CBOR answer: %v", err)
	}
}

// TestCBORBatchEncryptDecrypt round-trips a batch through CBOR bodies:
// binary fields travel as byte strings, a bad item fails alone with its
// code in the CBOR answer, and the batch limit and request errors are the
// JSON ones.
func TestCBORBatchEncryptDecrypt(t *testing.T) {
	n, tok := keyNode(t)
	r := n.doCBOR("POST", "/v1/keys/k4/encrypt", tok, map[string]any{"batch": []sdk.EncryptRequest{
		{Plaintext: []byte("a")}, {Plaintext: []byte("b"), AAD: []byte("ctx")},
	}})
	var enc batchAnswer[sdk.EncryptResult]
	r.cbor(t, &enc)
	if r.status != http.StatusOK || len(enc.Batch) != 2 || !strings.HasPrefix(enc.Batch[0].Ciphertext, "mima:v1:") || enc.Batch[1].Error != nil {
		t.Fatalf("CBOR batch encrypt: %d %+v", r.status, enc)
	}
	tampered := enc.Batch[0].Ciphertext[:len(enc.Batch[0].Ciphertext)-4] + "AAA="
	r = n.doCBOR("POST", "/v1/keys/k4/decrypt", tok, map[string]any{"batch": []sdk.DecryptRequest{
		{Ciphertext: enc.Batch[0].Ciphertext}, {Ciphertext: enc.Batch[1].Ciphertext, AAD: []byte("ctx")}, {Ciphertext: tampered},
	}})
	var dec batchAnswer[sdk.DecryptResult]
	r.cbor(t, &dec)
	if r.status != http.StatusOK || len(dec.Batch) != 3 || string(dec.Batch[0].Plaintext) != "a" || string(dec.Batch[1].Plaintext) != "b" {
		t.Fatalf("CBOR batch decrypt: %d %+v", r.status, dec)
	}
	if e := dec.Batch[2].Error; e == nil || e.Code != "decrypt_failed" || dec.Batch[2].Plaintext != nil {
		t.Fatalf("tampered item: %+v", dec.Batch[2])
	}
	// A JSON client can read what a CBOR client encrypted.
	var one sdk.DecryptResult
	n.do("POST", "/v1/keys/k4/decrypt", tok, sdk.DecryptRequest{Ciphertext: enc.Batch[0].Ciphertext}).json(t, &one)
	if string(one.Plaintext) != "a" {
		t.Fatalf("JSON decrypt of a CBOR ciphertext: %q", one.Plaintext)
	}
	items := make([]sdk.EncryptRequest, 1001)
	for i := range items {
		items[i].Plaintext = []byte("a")
	}
	r = n.doCBOR("POST", "/v1/keys/k4/encrypt", tok, map[string]any{"batch": items})
	if r.status != http.StatusBadRequest || r.errCode() != "batch_too_large" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("oversized CBOR batch: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
}

// TestCBORBatchOnEveryBatchRoute sends a batch of two items as CBOR to
// every crypto route that takes batches, and each answers two good items
// in CBOR, as it does in JSON.
func TestCBORBatchOnEveryBatchRoute(t *testing.T) {
	n, tok := keyNode(t)
	for _, k := range []sdk.CreateKeyRequest{{Name: "kd", Type: "sm4", Derived: true}, {Name: "kz", Type: "zuc-128"}} {
		if r := n.do("POST", "/v1/keys", tok, k); r.status != http.StatusCreated {
			t.Fatalf("key %s: %d %s", k.Name, r.status, r.body)
		}
	}
	var sig sdk.SignResult
	n.do("POST", "/v1/keys/k2/sign", tok, sdk.SignRequest{Input: []byte("m")}).json(t, &sig)
	var mac sdk.MACResult
	n.do("POST", "/v1/keys/km/mac", tok, sdk.MACRequest{Input: []byte("m")}).json(t, &mac)
	var enc sdk.EncryptResult
	n.do("POST", "/v1/keys/k4/encrypt", tok, sdk.EncryptRequest{Plaintext: []byte("m")}).json(t, &enc)
	// One item for each route that takes CBOR, by operation.
	items := map[string]struct {
		path string
		item any
	}{
		"encrypt":    {"/v1/keys/k4/encrypt", sdk.EncryptRequest{Plaintext: []byte("m")}},
		"decrypt":    {"/v1/keys/k4/decrypt", sdk.DecryptRequest{Ciphertext: enc.Ciphertext}},
		"sign":       {"/v1/keys/k2/sign", sdk.SignRequest{Input: []byte("m")}},
		"verify":     {"/v1/keys/k2/verify", sdk.VerifyRequest{Input: []byte("m"), Signature: sig.Signature}},
		"mac":        {"/v1/keys/km/mac", sdk.MACRequest{Input: []byte("m")}},
		"verify-mac": {"/v1/keys/km/verify-mac", sdk.VerifyMACRequest{Input: []byte("m"), MAC: mac.MAC}},
		"datakey":    {"/v1/keys/k4/datakey", sdk.DataKeyRequest{}},
		"derive":     {"/v1/keys/kd/derive", sdk.DeriveRequest{Derivation: sdk.Derivation{DeviceID: "meter-1"}}},
		"hash":       {"/v1/hash", map[string][]byte{"input": []byte("m")}},
		"eea3":       {"/v1/keys/kz/eea3", sdk.ZUCRequest{Count: 7, Input: []byte("m"), Bits: 5}},
		"eia3":       {"/v1/keys/kz/eia3", sdk.ZUCRequest{Bearer: 3, Input: []byte("m")}},
	}
	for _, rt := range n.api.routes {
		if _, ok := items[rt.op]; rt.cbor && !ok {
			t.Errorf("%s %s takes CBOR and is not in this test", rt.method, rt.pattern)
		}
	}
	for _, tc := range items {
		path, item := tc.path, tc.item
		body := map[string]any{"batch": []any{item, item}}
		var inJSON, inCBOR batchAnswer[map[string]any]
		n.do("POST", path, tok, body).json(t, &inJSON)
		r := n.doCBOR("POST", path, tok, body)
		r.cbor(t, &inCBOR)
		if r.status != http.StatusOK || len(inCBOR.Batch) != 2 || len(inJSON.Batch) != 2 {
			t.Errorf("%s: %d, %d items in CBOR, %d in JSON", path, r.status, len(inCBOR.Batch), len(inJSON.Batch))
			continue
		}
		for i, it := range inCBOR.Batch {
			if it["error"] != nil || !sameKeys(it, inJSON.Batch[i]) {
				t.Errorf("%s item %d: CBOR %v, JSON %v", path, i, it, inJSON.Batch[i])
			}
		}
	}
}

// sameKeys reports whether a and b have the same field names.
func sameKeys(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// TestCBORBodyErrors holds CBOR bodies to the rules of JSON ones: each
// bad body is refused with its own code and a JSON error, and a CBOR body
// on a route that does not take CBOR is refused as such.
func TestCBORBodyErrors(t *testing.T) {
	n, tok := keyNode(t)
	small := newTestNode(t, WithMaxBodyBytes(64))
	smallTok := small.tenant("acme")
	small.do("POST", "/v1/keys", smallTok, sdk.CreateKeyRequest{Name: "k4", Type: "sm4"})
	good, _ := cbor.Marshal(sdk.EncryptRequest{Plaintext: []byte("a")})
	for _, tc := range []struct {
		name   string
		node   *testNode
		token  string
		path   string
		body   any
		status int
		code   string
	}{
		{"not CBOR", n, tok, "/v1/keys/k4/encrypt", []byte("{\"plaintext\":\"YQ==\"}"), 400, "malformed_cbor"},
		{"truncated", n, tok, "/v1/keys/k4/encrypt", good[:len(good)-1], 400, "malformed_cbor"},
		{"trailing data", n, tok, "/v1/keys/k4/encrypt", slices.Concat(good, good), 400, "malformed_cbor"},
		{"not a map", n, tok, "/v1/keys/k4/encrypt", []string{"a"}, 400, "invalid_argument"},
		{"unknown field", n, tok, "/v1/keys/k4/encrypt", map[string][]byte{"plain": []byte("a")}, 400, "unknown_field"},
		{"field of the wrong type", n, tok, "/v1/keys/k4/encrypt", map[string]int{"plaintext": 7}, 400, "invalid_argument"},
		{"text for a binary field", n, tok, "/v1/keys/k4/encrypt", map[string]string{"plaintext": "YQ=="}, 400, "invalid_argument"},
		{"field name in another case", n, tok, "/v1/keys/k4/encrypt", map[string][]byte{"Plaintext": []byte("a")}, 400, "unknown_field"},
		{"tagged value", n, tok, "/v1/keys/k4/encrypt", map[string]cbor.Tag{"plaintext": {Number: 24, Content: []byte("a")}}, 400, "malformed_cbor"},
		{"duplicate field", n, tok, "/v1/keys/k4/encrypt", slices.Concat([]byte{0xa2}, good[1:], good[1:]), 400, "malformed_cbor"},
		{"batch not an array", n, tok, "/v1/keys/k4/encrypt", map[string]string{"batch": "x"}, 400, "invalid_argument"},
		{"too large", small, smallTok, "/v1/keys/k4/encrypt", sdk.EncryptRequest{Plaintext: make([]byte, 100)}, 413, "body_too_large"},
		{"route takes only JSON", n, tok, "/v1/keys", sdk.CreateKeyRequest{Name: "x", Type: "sm4"}, 415, "unsupported_media_type"},
	} {
		before := tc.node.snapshot()
		r := tc.node.doCBOR("POST", tc.path, tc.token, tc.body)
		if r.status != tc.status || r.errCode() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
		if !maps.Equal(before, tc.node.snapshot()) {
			t.Errorf("%s changed the store", tc.name)
		}
	}
	// An empty CBOR body is the empty map, as an empty JSON body is {}.
	if r := n.doCBOR("POST", "/v1/keys/k4/datakey", tok, []byte{}); r.status != http.StatusOK {
		t.Fatalf("empty CBOR body: %d %s", r.status, r.body)
	}
}

// TestCBORCannotSmuggleObjects: the dispatcher reads objects from JSON
// bodies only, so a CBOR body naming an object (the same forbidden
// objects as TestBodyObjectsAreDecidedFirst, in each declared field and
// in a batch item) is refused before any decision or handler, and
// changes nothing.
func TestCBORCannotSmuggleObjects(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	checked := 0
	for _, rt := range n.api.routes {
		path := objPath(rt.pattern)
		for _, d := range rt.body {
			for _, body := range []map[string]any{{d.field: "forbidden-x"}, {"batch": []map[string]any{{d.field: "forbidden-x"}}}} {
				before := n.snapshot()
				r := n.doCBOR(rt.method, path, admin, body)
				if r.status != http.StatusUnsupportedMediaType || r.errCode() != "unsupported_media_type" {
					t.Errorf("%s %s with CBOR %v: %d %s", rt.method, rt.pattern, body, r.status, r.body)
				}
				if !maps.Equal(before, n.snapshot()) {
					t.Errorf("%s %s with CBOR %v changed the store", rt.method, rt.pattern, body)
				}
				checked++
			}
		}
	}
	if checked < 15 {
		t.Fatalf("only %d body objects checked; the route table declares more", checked)
	}
}

// TestCBORBodyObjectsStayChecked: a CBOR body goes through the same check
// as a JSON one, so a handler that reads an undeclared object from it
// fails; and a route cannot take CBOR and declare body objects.
func TestCBORBodyObjectsStayChecked(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	handle := echoKey
	n.api.register(&route{method: "POST", pattern: "/v1/test/undeclared", op: "keys.read", scope: scopeTenant, cbor: true, handle: handle})
	if r := n.doCBOR("POST", "/v1/test/undeclared", admin, map[string]string{"key": "other"}); r.status != http.StatusInternalServerError {
		t.Fatalf("undeclared object in a CBOR body: %d %s", r.status, r.body)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a route taking CBOR with body objects was registered")
		}
	}()
	n.api.register(&route{method: "POST", pattern: "/v1/test/declared", op: "keys.read", scope: scopeTenant, cbor: true,
		body: []bodyObject{{field: "key", main: true}}, handle: handle})
}

// TestSDKCBORBatches runs the SDK's batch calls over CBOR: the same
// results and per-item errors as over JSON.
func TestSDKCBORBatches(t *testing.T) {
	n, tok := keyNode(t)
	ctx := t.Context()
	plain, err := sdk.New(n.srv.URL, sdk.WithToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	compact, err := sdk.New(n.srv.URL, sdk.WithToken(tok), sdk.WithCBORBatches())
	if err != nil {
		t.Fatal(err)
	}
	enc, err := compact.Crypto().EncryptBatch(ctx, "k4", []sdk.EncryptRequest{{Plaintext: []byte("a")}, {Plaintext: []byte("b")}})
	if err != nil || len(enc) != 2 {
		t.Fatalf("CBOR EncryptBatch: %v %+v", err, enc)
	}
	for _, c := range []*sdk.Client{plain, compact} {
		dec, err := c.Crypto().DecryptBatch(ctx, "k4", []sdk.DecryptRequest{{Ciphertext: enc[0].Ciphertext}, {Ciphertext: enc[1].Ciphertext}, {Ciphertext: "garbage"}})
		if err != nil || len(dec) != 3 || string(dec[0].Plaintext) != "a" || string(dec[1].Plaintext) != "b" || dec[2].Error == nil || dec[2].Error.Code != "decrypt_failed" {
			t.Fatalf("DecryptBatch: %v %+v", err, dec)
		}
	}
	sigs, err := compact.Crypto().SignBatch(ctx, "k2", []sdk.SignRequest{{Input: []byte("m")}})
	if err != nil || len(sigs) != 1 || len(sigs[0].Signature) == 0 {
		t.Fatalf("CBOR SignBatch: %v %+v", err, sigs)
	}
	valid, err := compact.Crypto().VerifyBatch(ctx, "k2", []sdk.VerifyRequest{{Input: []byte("m"), Signature: sigs[0].Signature}, {Input: []byte("x"), Signature: sigs[0].Signature}})
	if err != nil || len(valid) != 2 || !valid[0].Valid || valid[1].Valid {
		t.Fatalf("CBOR VerifyBatch: %v %+v", err, valid)
	}
	macs, err := compact.Crypto().MACBatch(ctx, "km", []sdk.MACRequest{{Input: []byte("m")}})
	if err != nil || len(macs) != 1 || len(macs[0].MAC) != 32 {
		t.Fatalf("CBOR MACBatch: %v %+v", err, macs)
	}
	if _, err := compact.Crypto().EncryptBatch(ctx, "absent", []sdk.EncryptRequest{{Plaintext: []byte("a")}}); !errors.Is(err, sdk.ErrKeyNotFound) {
		t.Fatalf("CBOR batch on an absent key: %v", err)
	}
}
