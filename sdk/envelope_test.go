package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// keyServer answers datakey with a fixed SM4 key wrapped as "mima:v1:dk",
// and decrypt of "mima:v1:dk" with that key.
func keyServer(t *testing.T) *Client {
	t.Helper()
	dk := bytes.Repeat([]byte{7}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/keys/k/datakey":
			_ = json.NewEncoder(w).Encode(DataKeyResult{Plaintext: dk, Ciphertext: "mima:v1:dk"})
		case "/v1/keys/k/decrypt":
			var req DecryptRequest
			if json.NewDecoder(r.Body).Decode(&req) != nil || req.Ciphertext != "mima:v1:dk" {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":{"code":"decrypt_failed","message":"no","request_id":"r"}}`))
				return
			}
			_ = json.NewEncoder(w).Encode(DecryptResult{Plaintext: dk})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnvelopeRoundTrip(t *testing.T) {
	c, ctx := keyServer(t), context.Background()
	for _, n := range []int{0, 1, envelopeSegment - 1, envelopeSegment, envelopeSegment + 1, 3*envelopeSegment + 17} {
		pt := bytes.Repeat([]byte("x"), n)
		var sealed, opened bytes.Buffer
		if err := c.Crypto().EncryptEnvelope(ctx, "k", &sealed, bytes.NewReader(pt)); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if err := c.Crypto().DecryptEnvelope(ctx, "k", &opened, bytes.NewReader(sealed.Bytes())); err != nil || !bytes.Equal(opened.Bytes(), pt) {
			t.Fatalf("%d bytes: %v, %d bytes back", n, err, opened.Len())
		}
	}
}

// TestEnvelopeRefusesChanges: a flipped byte, a cut at a segment boundary,
// a segment added, two segments swapped and another header all fail.
func TestEnvelopeRefusesChanges(t *testing.T) {
	c, ctx := keyServer(t), context.Background()
	pt := bytes.Repeat([]byte("y"), 3*envelopeSegment+5)
	var sealed bytes.Buffer
	if err := c.Crypto().EncryptEnvelope(ctx, "k", &sealed, bytes.NewReader(pt)); err != nil {
		t.Fatal(err)
	}
	env := sealed.Bytes()
	header := len(envelopeMagic) + 1 + len("mima:v1:dk") + 1
	seg := envelopeSegment + 16
	flipped := bytes.Clone(env)
	flipped[header+10] ^= 1
	swapped := append(append(append(bytes.Clone(env[:header]), env[header+seg:header+2*seg]...), env[header:header+seg]...), env[header+2*seg:]...)
	otherHeader := append([]byte(envelopeMagic+"\nmima:v1:dk \n"), env[header:]...)
	for name, b := range map[string][]byte{
		"flipped byte":         flipped,
		"cut after segment 2":  env[:header+2*seg],
		"cut inside a segment": env[:len(env)-3],
		"segment added":        append(bytes.Clone(env), env[header:header+seg]...),
		"segments swapped":     swapped,
		"other header":         otherHeader,
		"no segments":          env[:header],
		"not an envelope":      []byte("hello"),
	} {
		var out bytes.Buffer
		if err := c.Crypto().DecryptEnvelope(ctx, "k", &out, bytes.NewReader(b)); err == nil {
			t.Errorf("%s: decrypted", name)
		} else if name != "not an envelope" && name != "other header" && !strings.Contains(err.Error(), "damaged") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
