package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// benchIdentity is the hosted identity that sm9-sign and sm9-verify use.
const benchIdentity = "bench-1"

// prepareSM9 makes sure the signature KGC <key>-kgc and its hosted
// identity bench-1 exist, and builds an SM9 signing request, or the
// verification of one of its signatures: a batch of cfg.BatchSize items
// when that is above 1.
func (a *api) prepareSM9(ctx context.Context, cfg Config) (Request, error) {
	if a.caBase == "" {
		return Request{}, fmt.Errorf("%s does not offer %s here", a.name, cfg.Op)
	}
	kgc := cfg.Key + "-kgc"
	if err := a.createKey(ctx, kgc, "sm9-sign-master"); err != nil {
		return Request{}, err
	}
	base := strings.TrimSuffix(a.caBase, "/ca") + "/keys/" + kgc + "/sm9/"
	err := call(ctx, "POST", base+"extract", a.header, map[string]any{"id": benchIdentity, "deliver": map[string]bool{"hosted": true}}, nil)
	if err != nil && !strings.Contains(err.Error(), "already_exists") {
		return Request{}, err
	}
	item := map[string]any{"id": benchIdentity, "input": make([]byte, cfg.PayloadSize)}
	op := "sign"
	if cfg.Op == "sm9-verify" {
		var out struct {
			Signature []byte `json:"signature"`
		}
		if err := call(ctx, "POST", base+"sign", a.header, item, &out); err != nil {
			return Request{}, err
		}
		item["signature"], op = out.Signature, "verify"
	}
	var body any = item
	items := 1
	if cfg.BatchSize > 1 {
		batch := make([]map[string]any, cfg.BatchSize)
		for i := range batch {
			batch[i] = item
		}
		body, items = map[string]any{"batch": batch}, cfg.BatchSize
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Request{}, err
	}
	return Request{Method: "POST", URL: base + op, Header: a.header, Body: b, Items: items}, nil
}
