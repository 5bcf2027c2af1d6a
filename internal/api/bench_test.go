package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkEncryptRequest measures one encrypt request through the whole
// handler (authentication, authorisation, JSON, the key service, the audit
// record) without the network.
func BenchmarkEncryptRequest(b *testing.B) {
	n, tok := keyNode(b)
	h := n.srv.Config.Handler
	body := `{"plaintext":"` + strings.Repeat("A", 88) + `"}`
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/v1/keys/k4/encrypt", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}
