package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/mimacrypto/mima/sdk"
)

// BenchmarkEncryptRequest measures one encrypt request through the whole
// handler (authentication, authorisation, JSON, the key service, the audit
// record) without the network.
func BenchmarkEncryptRequest(b *testing.B) {
	body := `{"plaintext":"` + strings.Repeat("A", 88) + `"}`
	benchmarkRequest(b, "/v1/keys/k4/encrypt", "application/json", []byte(body), 1)
}

// BenchmarkEncryptBatchRequest measures a batch of 100 encryptions of 64
// bytes, as `mima bench --op batch-encrypt` sends it, in JSON and in CBOR;
// the time and allocations are per item.
func BenchmarkEncryptBatchRequest(b *testing.B) {
	items := make([]sdk.EncryptRequest, 100)
	for i := range items {
		items[i].Plaintext = make([]byte, 64)
	}
	batch := map[string]any{"batch": items}
	inJSON, err := json.Marshal(batch)
	if err != nil {
		b.Fatal(err)
	}
	inCBOR, err := cbor.Marshal(batch)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("json", func(b *testing.B) { benchmarkRequest(b, "/v1/keys/k4/encrypt", "application/json", inJSON, len(items)) })
	b.Run("cbor", func(b *testing.B) { benchmarkRequest(b, "/v1/keys/k4/encrypt", mediaCBOR, inCBOR, len(items)) })
}

// benchmarkRequest sends body to path again and again, from parallel
// goroutines, and reports per item when a request carries several.
func benchmarkRequest(b *testing.B, path, contentType string, body []byte, items int) {
	n, tok := keyNode(b)
	benchmarkOn(b, n, tok, path, contentType, body, items)
}

// benchmarkOn is benchmarkRequest on node n with token tok.
func benchmarkOn(b *testing.B, n *testNode, tok, path, contentType string, body []byte, items int) {
	h := n.srv.Config.Handler
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", path, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", contentType)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
	if items > 1 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/item")
	}
}
