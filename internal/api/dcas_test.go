package api

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net/http"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/dcas"
	"github.com/mimacrypto/mima/internal/dcas/dcasterm"
	"github.com/mimacrypto/mima/sdk"
)

// TestDCASRoutes: the interface scripts rely on. Chips injected from the
// inject route's block unwind the EMMs and ECMs of the emm and ecm routes
// to the control word; keys of the wrong type or not derived are refused.
func TestDCASRoutes(t *testing.T) {
	n, tok := keyNode(t)
	ctx := t.Context()
	c, err := sdk.New(n.srv.URL, sdk.WithToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Keys().Create(ctx, sdk.CreateKeyRequest{Name: "vendor", Type: "sm4", Derived: true}); err != nil {
		t.Fatal(err)
	}
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := smx509.MarshalPKIXPublicKey(&priv.PublicKey)
	chips := []string{"1000000000000001", "1000000000000002"}
	inj, err := c.DCAS().Inject(ctx, "vendor", sdk.DCASInjectRequest{Chips: chips, StationKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
	if err != nil {
		t.Fatal(err)
	}
	o, err := dcas.OpenBlock(priv, inj.Block)
	if err != nil || len(o.Chips) != 2 {
		t.Fatal(o, err)
	}
	keys := o.Chips
	var emms struct {
		EMMs [][]byte `json:"emms"`
	}
	n.do("POST", "/v1/keys/vendor/dcas/emm", tok, map[string]any{"chips": chips, "period": 9}).json(t, &emms)
	ecm, err := c.DCAS().ECM(ctx, "vendor", sdk.DCASECMRequest{Channel: "ch-500", Period: 9})
	if err != nil || len(emms.EMMs) != 2 {
		t.Fatalf("ecm %v, %d emms", err, len(emms.EMMs))
	}
	for i, k := range keys {
		term, err := dcasterm.New(k.ID, k.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := term.ProcessEMM(emms.EMMs[i]); err != nil {
			t.Fatal(err)
		}
		if cw, _, err := term.ControlWord(ecm.ECM); err != nil || !bytes.Equal(cw, ecm.CW) {
			t.Fatalf("chip %d: cw %x, want %x, %v", i, cw, ecm.CW, err)
		}
	}
	for _, bad := range []struct{ key, code string }{{"k2", "key_type_mismatch"}, {"k4", "invalid_argument"}} {
		r := n.do("POST", "/v1/keys/"+bad.key+"/dcas/emm", tok, map[string]any{"chips": chips, "period": 1})
		if r.status != http.StatusBadRequest || r.errCode() != bad.code {
			t.Errorf("%s: %d %s, want %s", bad.key, r.status, r.body, bad.code)
		}
	}
}

// BenchmarkDCASEMMsAPI measures EMMs through the API, 1,000 chips a call:
// the rate of a period's 3,000,000.
func BenchmarkDCASEMMsAPI(b *testing.B) {
	n, tok := keyNode(b)
	c, err := sdk.New(n.srv.URL, sdk.WithToken(tok))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Keys().Create(b.Context(), sdk.CreateKeyRequest{Name: "vendor", Type: "sm4", Derived: true}); err != nil {
		b.Fatal(err)
	}
	chips := make([]string, 1000)
	for i := range chips {
		chips[i] = fmt.Sprintf("%016X", i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += len(chips) {
		if _, err := c.DCAS().EMMs(b.Context(), "vendor", sdk.DCASEMMRequest{Chips: chips, Period: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDCASECMAPI measures one ECM through the API: 500 channels
// every 10 s is 50 a second.
func BenchmarkDCASECMAPI(b *testing.B) {
	n, tok := keyNode(b)
	c, err := sdk.New(n.srv.URL, sdk.WithToken(tok))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Keys().Create(b.Context(), sdk.CreateKeyRequest{Name: "vendor", Type: "sm4", Derived: true}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.DCAS().ECM(b.Context(), "vendor", sdk.DCASECMRequest{Channel: "ch-1", Period: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
