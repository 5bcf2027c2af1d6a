package api

import (
	"net/http"
	"testing"

	"github.com/emmansun/gmsm/zuc"
	"github.com/fxamacker/cbor/v2"

	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/sdk"
)

// pduSize is the PDU size of the ZUC throughput figures in
// docs/performance.md.
const pduSize = 1500

// BenchmarkZUC compares raw gmsm 128-EEA3 and 128-EIA3 on 1,500-byte PDUs
// with the same through the eea3 and eia3 handlers in CBOR batches of
// kms.MaxBatch PDUs (issue 15 item 7). MB/s counts PDU bytes.
func BenchmarkZUC(b *testing.B) {
	key := make([]byte, 16)
	pdu := make([]byte, pduSize)
	b.Run("raw-eea3", func(b *testing.B) {
		b.SetBytes(pduSize)
		b.RunParallel(func(pb *testing.PB) {
			out := make([]byte, pduSize)
			for i := uint32(0); pb.Next(); i++ {
				c, err := zuc.NewEEACipher(key, i, 1, 0)
				if err != nil {
					b.Fatal(err)
				}
				c.XORKeyStream(out, pdu)
			}
		})
	})
	b.Run("raw-eia3", func(b *testing.B) {
		b.SetBytes(pduSize)
		b.RunParallel(func(pb *testing.PB) {
			for i := uint32(0); pb.Next(); i++ {
				h, err := zuc.NewEIAHash(key, i, 1, 0)
				if err != nil {
					b.Fatal(err)
				}
				h.Finish(pdu, 8*pduSize)
			}
		})
	})
	items := make([]sdk.ZUCRequest, kms.MaxBatch)
	for i := range items {
		items[i] = sdk.ZUCRequest{Count: int64(i), Bearer: 1, Input: pdu}
	}
	body, err := cbor.Marshal(map[string]any{"batch": items})
	if err != nil {
		b.Fatal(err)
	}
	for _, op := range []string{"eea3", "eia3"} {
		b.Run("api-"+op, func(b *testing.B) {
			n, tok := keyNode(b)
			if r := n.do("POST", "/v1/keys", tok, sdk.CreateKeyRequest{Name: "kz", Type: "zuc-128"}); r.status != http.StatusCreated {
				b.Fatalf("create: %d %s", r.status, r.body)
			}
			b.SetBytes(pduSize * int64(len(items)))
			benchmarkOn(b, n, tok, "/v1/keys/kz/"+op, mediaCBOR, body, len(items))
		})
	}
}
