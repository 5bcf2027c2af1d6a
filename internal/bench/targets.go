package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// api describes how one server spells the benchmark operations. The
// payloads and the sequence are the same for every server.
type api struct {
	name      string
	header    http.Header
	setup     func(ctx context.Context) error
	keyTypes  map[string]string // key kind → the server's key type
	createKey func(ctx context.Context, name, typ string) error
	paths     map[string]string                         // op → URL with %k for the key name
	batch     string                                    // field holding batch items
	result    func(b json.RawMessage) map[string]string // the answer's fields
	caBase    string                                    // the CA API, for sign-csr and ocsp; "" when not offered
	cbor      bool                                      // takes application/cbor batch bodies

	v2xMu sync.Mutex
	v2x   *v2xWorld // the deployment of v2x-issue, once made
}

// Name implements Target.
func (a *api) Name() string { return a.name }

// Mima returns the target for mima's key service API.
func Mima(addr, token string) Target {
	base := strings.TrimSuffix(addr, "/") + "/v1/keys"
	h := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
	return &api{
		name:     "mima",
		header:   h,
		setup:    func(context.Context) error { return nil },
		keyTypes: map[string]string{"signing": "sm2", "mac": "hmac-sm3", "encryption": "sm4"},
		createKey: func(ctx context.Context, name, typ string) error {
			err := call(ctx, "POST", base, h, map[string]string{"name": name, "type": typ}, nil)
			if err != nil && strings.Contains(err.Error(), "already_exists") {
				return nil
			}
			return err
		},
		paths: map[string]string{
			"encrypt": base + "/%k/encrypt", "decrypt": base + "/%k/decrypt", "sign": base + "/%k/sign",
			"verify": base + "/%k/verify", "mac": base + "/%k/mac", "datakey": base + "/%k/datakey",
			"batch-encrypt": base + "/%k/encrypt", "batch-sign": base + "/%k/sign",
		},
		batch:  "batch",
		result: fields,
		caBase: strings.TrimSuffix(addr, "/") + "/v1/ca",
		cbor:   true,
	}
}

// OpenBao returns the target for OpenBao's (or Vault's) transit engine,
// mounted at mount, for comparison. Its signing key is ECDSA P-256 and its
// encryption key AES-256-GCM, the counterparts of SM2 and SM4.
func OpenBao(addr, token, mount string) Target {
	root := strings.TrimSuffix(addr, "/") + "/v1/"
	base := root + mount + "/"
	h := http.Header{"X-Vault-Token": {token}, "Content-Type": {"application/json"}}
	return &api{
		name:   "openbao",
		header: h,
		setup: func(ctx context.Context) error {
			err := call(ctx, "POST", root+"sys/mounts/"+mount, h, map[string]string{"type": "transit"}, nil)
			if err != nil && strings.Contains(err.Error(), "path is already in use") {
				return nil
			}
			return err
		},
		keyTypes: map[string]string{"signing": "ecdsa-p256", "mac": "aes256-gcm96", "encryption": "aes256-gcm96"},
		createKey: func(ctx context.Context, name, typ string) error {
			return call(ctx, "POST", base+"keys/"+name, h, map[string]string{"type": typ}, nil)
		},
		paths: map[string]string{
			"encrypt": base + "encrypt/%k", "decrypt": base + "decrypt/%k", "sign": base + "sign/%k",
			"verify": base + "verify/%k", "mac": base + "hmac/%k", "datakey": base + "datakey/plaintext/%k",
			"batch-encrypt": base + "encrypt/%k", "batch-sign": base + "sign/%k",
		},
		batch: "batch_input",
		result: func(b json.RawMessage) map[string]string {
			var env struct {
				Data json.RawMessage `json:"data"`
			}
			_ = json.Unmarshal(b, &env)
			return fields(env.Data)
		},
	}
}

// fields decodes the string fields of a JSON object.
func fields(b json.RawMessage) map[string]string {
	out := map[string]string{}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// keyKind is the kind of key an operation needs.
func keyKind(op string) string {
	switch op {
	case "sign", "verify", "batch-sign":
		return "signing"
	case "mac":
		return "mac"
	default:
		return "encryption"
	}
}

// prepareKeyCreate builds a request whose every body creates a new SM4
// key, named with the worker's random prefix and a counter.
func (a *api) prepareKeyCreate(cfg Config) (Request, error) {
	if a.caBase == "" {
		return Request{}, fmt.Errorf("%s does not offer %s here", a.name, cfg.Op)
	}
	var prefix [6]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return Request{}, err
	}
	name := cfg.Key + "-" + hex.EncodeToString(prefix[:]) + "-"
	n := 0
	next := func() ([]byte, error) {
		n++
		return fmt.Appendf(nil, `{"name":"%s%d","type":"sm4"}`, name, n), nil
	}
	return Request{Method: "POST", URL: strings.TrimSuffix(a.caBase, "/ca") + "/keys", Header: a.header, Items: 1, Next: next}, nil
}

// Prepare implements Target: it creates the key, makes the ciphertext or
// signature that decrypt and verify need, and builds the request.
func (a *api) Prepare(ctx context.Context, cfg Config) (Request, error) {
	switch cfg.Op {
	case "sign-csr", "ocsp", "cms-sign", "timestamp":
		return a.prepareCA(ctx, cfg)
	case "key-create":
		return a.prepareKeyCreate(cfg)
	case "v2x-issue":
		return a.prepareV2X(ctx, cfg)
	case "sm9-sign", "sm9-verify":
		return a.prepareSM9(ctx, cfg)
	}
	if cfg.CBOR && !a.cbor {
		return Request{}, fmt.Errorf("%s takes no CBOR bodies", a.name)
	}
	if cfg.CBOR && cfg.Op != "batch-encrypt" && cfg.Op != "batch-sign" {
		return Request{}, fmt.Errorf("CBOR bodies are for batch-encrypt and batch-sign, not %s", cfg.Op)
	}
	if err := a.setup(ctx); err != nil {
		return Request{}, err
	}
	typ := a.keyTypes[keyKind(cfg.Op)]
	name := cfg.Key + "-" + typ
	if err := a.createKey(ctx, name, typ); err != nil {
		return Request{}, err
	}
	url := func(op string) string { return strings.ReplaceAll(a.paths[op], "%k", name) }
	payload := base64.StdEncoding.EncodeToString(make([]byte, cfg.PayloadSize))
	var body any
	items := 1
	switch cfg.Op {
	case "encrypt":
		body = map[string]string{"plaintext": payload}
	case "decrypt":
		var out json.RawMessage
		if err := call(ctx, "POST", url("encrypt"), a.header, map[string]string{"plaintext": payload}, &out); err != nil {
			return Request{}, err
		}
		body = map[string]string{"ciphertext": a.result(out)["ciphertext"]}
	case "sign", "mac":
		body = map[string]string{"input": payload}
	case "verify":
		var out json.RawMessage
		if err := call(ctx, "POST", url("sign"), a.header, map[string]string{"input": payload}, &out); err != nil {
			return Request{}, err
		}
		body = map[string]string{"input": payload, "signature": a.result(out)["signature"]}
	case "datakey":
		body = map[string]any{}
	case "batch-encrypt", "batch-sign":
		field := map[string]string{"batch-encrypt": "plaintext", "batch-sign": "input"}[cfg.Op]
		if cfg.CBOR {
			return a.cborBatch(url(cfg.Op), field, cfg)
		}
		batch := make([]map[string]string, cfg.BatchSize)
		for i := range batch {
			batch[i] = map[string]string{field: payload}
		}
		body, items = map[string]any{a.batch: batch}, cfg.BatchSize
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Request{}, err
	}
	return Request{Method: "POST", URL: url(cfg.Op), Header: a.header, Body: b, Items: items}, nil
}

// cborBatch is the batch request in CBOR: each item's field holds the
// payload as a byte string.
func (a *api) cborBatch(url, field string, cfg Config) (Request, error) {
	batch := make([]map[string][]byte, cfg.BatchSize)
	for i := range batch {
		batch[i] = map[string][]byte{field: make([]byte, cfg.PayloadSize)}
	}
	b, err := cbor.Marshal(map[string]any{a.batch: batch})
	if err != nil {
		return Request{}, err
	}
	h := a.header.Clone()
	h.Set("Content-Type", "application/cbor")
	return Request{Method: "POST", URL: url, Header: h, Body: b, Items: cfg.BatchSize}, nil
}
