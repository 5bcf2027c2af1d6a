package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/sdk"
)

// TestZUCRoutes: eea3 and eia3 answer the interface scripts rely on, and
// refuse out-of-range COUNT, BEARER and DIRECTION with invalid_argument
// and other key types with key_type_mismatch.
func TestZUCRoutes(t *testing.T) {
	n, tok := keyNode(t)
	if r := n.do("POST", "/v1/keys", tok, map[string]string{"name": "z", "type": "zuc-128"}); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	pdu := []byte("user plane PDU")
	var enc sdk.EEA3Result
	n.do("POST", "/v1/keys/z/eea3", tok, map[string]any{"count": 4294967295, "bearer": 31, "direction": 1, "input": pdu, "bits": 8*len(pdu) - 2}).json(t, &enc)
	if len(enc.Output) != len(pdu) || enc.Output[len(pdu)-1]&3 != 0 || enc.KeyVersion != 1 {
		t.Fatalf("eea3: %+v", enc)
	}
	var dec sdk.EEA3Result
	n.do("POST", "/v1/keys/z/eea3", tok, map[string]any{"count": 4294967295, "bearer": 31, "direction": 1, "input": enc.Output, "bits": 8*len(pdu) - 2}).json(t, &dec)
	if want := append(bytes.Clone(pdu[:len(pdu)-1]), pdu[len(pdu)-1]&^3); !bytes.Equal(dec.Output, want) {
		t.Fatalf("eea3 twice: %q, want %q", dec.Output, want)
	}
	var mac sdk.EIA3Result
	n.do("POST", "/v1/keys/z/eia3", tok, map[string]any{"count": 7, "input": pdu}).json(t, &mac)
	if len(mac.MAC) != 4 {
		t.Fatalf("eia3: %+v", mac)
	}
	for _, c := range []struct {
		name, key string
		body      map[string]any
		code      string
	}{
		{"count 2^32", "z", map[string]any{"count": 4294967296, "input": pdu}, "invalid_argument"},
		{"negative count", "z", map[string]any{"count": -1, "input": pdu}, "invalid_argument"},
		{"bearer 32", "z", map[string]any{"bearer": 32, "input": pdu}, "invalid_argument"},
		{"direction 2", "z", map[string]any{"direction": 2, "input": pdu}, "invalid_argument"},
		{"bits past the input", "z", map[string]any{"bits": 8*len(pdu) + 1, "input": pdu}, "invalid_argument"},
		{"an sm4 key", "k4", map[string]any{"input": pdu}, "key_type_mismatch"},
		{"an hmac-sm3 key", "km", map[string]any{"input": pdu}, "key_type_mismatch"},
	} {
		for _, op := range []string{"eea3", "eia3"} {
			if r := n.do("POST", "/v1/keys/"+c.key+"/"+op, tok, c.body); r.status != http.StatusBadRequest || r.errCode() != c.code {
				t.Errorf("%s %s: %d %s; want 400 %s", op, c.name, r.status, r.body, c.code)
			}
		}
	}
	var batch batchAnswer[sdk.EIA3Result]
	n.do("POST", "/v1/keys/z/eia3", tok, map[string]any{"batch": []map[string]any{{"count": 7, "input": pdu}, {"bearer": 99, "input": pdu}}}).json(t, &batch)
	if len(batch.Batch) != 2 || !bytes.Equal(batch.Batch[0].MAC, mac.MAC) || batch.Batch[1].Error == nil || batch.Batch[1].Error.Code != "invalid_argument" {
		t.Fatalf("eia3 batch: %+v", batch)
	}
}

// TestBaseStation10000UEs is the 5G case: a base station holds a zuc-128
// root key in mima and, for each of 10,000 UEs, a per-UE, per-session key
// derived from it (one key per device and per session). Through the SDK's
// CBOR batches it encrypts and MACs one PDU per UE; the receiving side
// decrypts and recomputes the MACs, and EIA3 catches a wrong COUNT and a
// flipped bit in every PDU.
func TestBaseStation10000UEs(t *testing.T) {
	const ues = 10000
	n, tok := keyNode(t)
	ctx := t.Context()
	bs, err := sdk.New(n.srv.URL, sdk.WithToken(tok), sdk.WithCBORBatches())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bs.Keys().Create(ctx, sdk.CreateKeyRequest{Name: "gnb-root", Type: "zuc-128", Derived: true}); err != nil {
		t.Fatal(err)
	}
	const count, bearer = 0x1234, 5
	send := make([]sdk.ZUCRequest, ues)
	for i := range send {
		send[i] = sdk.ZUCRequest{
			Count: count, Bearer: bearer, Direction: 1,
			Input:   []byte(fmt.Sprintf("PDU for UE %05d: payload", i)),
			Context: &sdk.Derivation{DeviceID: fmt.Sprintf("ue-%05d", i), Business: "up", Session: "pdu-session-1"},
		}
	}
	eea3 := func(items []sdk.ZUCRequest) []sdk.EEA3Result { return inBatches(t, items, bs.Crypto().EEA3Batch) }
	eia3 := func(items []sdk.ZUCRequest) []sdk.EIA3Result { return inBatches(t, items, bs.Crypto().EIA3Batch) }

	sealed := eea3(send)
	macs := eia3(send)
	recv := make([]sdk.ZUCRequest, ues)
	for i := range recv {
		recv[i] = send[i]
		recv[i].Input = sealed[i].Output
	}
	opened := eea3(recv)
	wrongCount := make([]sdk.ZUCRequest, ues)
	flipped := make([]sdk.ZUCRequest, ues)
	for i := range send {
		wrongCount[i] = send[i]
		wrongCount[i].Count = count + 1
		flipped[i] = send[i]
		flipped[i].Input = bytes.Clone(send[i].Input)
		flipped[i].Input[i%len(flipped[i].Input)] ^= 1 << (i % 8)
	}
	checked, badCount, badBit := eia3(send), eia3(wrongCount), eia3(flipped)
	distinct := map[string]bool{}
	for i := range send {
		if !bytes.Equal(opened[i].Output, send[i].Input) || bytes.Equal(sealed[i].Output, send[i].Input) {
			t.Fatalf("UE %d: PDU %q sealed %x opened %q", i, send[i].Input, sealed[i].Output, opened[i].Output)
		}
		if len(macs[i].MAC) != 4 || !bytes.Equal(checked[i].MAC, macs[i].MAC) {
			t.Fatalf("UE %d: MAC %x, recomputed %x", i, macs[i].MAC, checked[i].MAC)
		}
		if badCount[i].Error != nil || badBit[i].Error != nil || bytes.Equal(badCount[i].MAC, macs[i].MAC) || bytes.Equal(badBit[i].MAC, macs[i].MAC) {
			t.Fatalf("UE %d: EIA3 missed a wrong COUNT (%x) or a flipped bit (%x)", i, badCount[i].MAC, badBit[i].MAC)
		}
		distinct[string(sealed[i].Output[:16])] = true
	}
	if len(distinct) != ues {
		t.Errorf("%d UEs share keystreams: %d distinct", ues, len(distinct))
	}
}

// inBatches runs items through a batch call in batches of the largest
// size and fails the test on any error.
func inBatches[R any](t *testing.T, items []sdk.ZUCRequest, call func(ctx context.Context, key string, items []sdk.ZUCRequest) ([]R, error)) []R {
	t.Helper()
	var out []R
	for len(items) > 0 {
		n := min(len(items), kms.MaxBatch)
		res, err := call(t.Context(), "gnb-root", items[:n])
		if err != nil || len(res) != n {
			t.Fatalf("batch: %d results, %v", len(res), err)
		}
		out = append(out, res...)
		items = items[n:]
	}
	return out
}
