package sdk

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/fxamacker/cbor/v2"
)

// mediaCBOR is the media type of CBOR batch bodies (WithCBORBatches).
const mediaCBOR = "application/cbor"

// ItemError is the error of one batch item.
type ItemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *ItemError) Error() string { return e.Code + ": " + e.Message }

// Derivation selects a derived key ("one device, one key") of a key
// created with derived=true. Business needs DeviceID; Session needs
// Business.
type Derivation struct {
	DeviceID string `json:"device_id"`
	Business string `json:"business,omitempty"`
	Session  string `json:"session,omitempty"`
}

// EncryptRequest is one encryption. SM2Format is "asn1" (default) or
// "c1c3c2" for sm2 keys.
type EncryptRequest struct {
	Plaintext []byte      `json:"plaintext"`
	AAD       []byte      `json:"aad,omitempty"`
	Version   int         `json:"version,omitempty"`
	Context   *Derivation `json:"context,omitempty"`
	SM2Format string      `json:"sm2_format,omitempty"`
}

// EncryptResult is "mima:v<N>:<base64>", or the item's error in a batch.
type EncryptResult struct {
	Ciphertext string     `json:"ciphertext,omitempty"`
	Error      *ItemError `json:"error,omitempty"`
}

// DecryptRequest is one decryption.
type DecryptRequest struct {
	Ciphertext string      `json:"ciphertext"`
	AAD        []byte      `json:"aad,omitempty"`
	Context    *Derivation `json:"context,omitempty"`
}

// DecryptResult is the plaintext, or the item's error in a batch.
type DecryptResult struct {
	Plaintext []byte     `json:"plaintext,omitempty"`
	Error     *ItemError `json:"error,omitempty"`
}

// ReEncryptRequest moves a ciphertext to another key (or to the latest
// version of the same key) without the caller seeing the plaintext.
type ReEncryptRequest struct {
	Ciphertext string      `json:"ciphertext"`
	ToKey      string      `json:"to_key,omitempty"`
	ToVersion  int         `json:"to_version,omitempty"`
	AAD        []byte      `json:"aad,omitempty"`
	ToAAD      []byte      `json:"to_aad,omitempty"`
	Context    *Derivation `json:"context,omitempty"`
	ToContext  *Derivation `json:"to_context,omitempty"`
	SM2Format  string      `json:"sm2_format,omitempty"`
}

// SignRequest is one SM2 signature. Without Prehashed, Input is the
// message; with it, the 32-byte SM3 e-value SM3(Z_A || M). UID defaults to
// "1234567812345678".
type SignRequest struct {
	Input     []byte `json:"input"`
	Prehashed bool   `json:"prehashed,omitempty"`
	UID       string `json:"uid,omitempty"`
	Version   int    `json:"version,omitempty"`
}

// SignResult is a DER signature and the version that made it.
type SignResult struct {
	Signature  []byte     `json:"signature,omitempty"`
	KeyVersion int        `json:"key_version,omitempty"`
	Error      *ItemError `json:"error,omitempty"`
}

// VerifyRequest checks one signature (Version 0: the latest).
type VerifyRequest struct {
	Input     []byte `json:"input"`
	Signature []byte `json:"signature"`
	Prehashed bool   `json:"prehashed,omitempty"`
	UID       string `json:"uid,omitempty"`
	Version   int    `json:"version,omitempty"`
}

// VerifyResult says whether a signature or MAC is valid and, for a valid
// signature, which key version verified it.
type VerifyResult struct {
	Valid      bool       `json:"valid"`
	KeyVersion int        `json:"key_version,omitempty"`
	Error      *ItemError `json:"error,omitempty"`
}

// MACRequest is one HMAC-SM3 (hmac-sm3 keys) or SM4-CMAC (sm4 keys).
type MACRequest struct {
	Input   []byte      `json:"input"`
	Version int         `json:"version,omitempty"`
	Context *Derivation `json:"context,omitempty"`
}

// MACResult is a MAC and the version that made it.
type MACResult struct {
	MAC        []byte     `json:"mac,omitempty"`
	KeyVersion int        `json:"key_version,omitempty"`
	Error      *ItemError `json:"error,omitempty"`
}

// VerifyMACRequest checks one MAC.
type VerifyMACRequest struct {
	Input   []byte      `json:"input"`
	MAC     []byte      `json:"mac"`
	Version int         `json:"version,omitempty"`
	Context *Derivation `json:"context,omitempty"`
}

// DataKeyRequest asks for a fresh data key wrapped under the named key.
// Kind is "sm4" (default) or "sm2"; WrappedOnly omits the plaintext.
type DataKeyRequest struct {
	Kind        string      `json:"kind,omitempty"`
	WrappedOnly bool        `json:"wrapped_only,omitempty"`
	Version     int         `json:"version,omitempty"`
	AAD         []byte      `json:"aad,omitempty"`
	Context     *Derivation `json:"context,omitempty"`
	SM2Format   string      `json:"sm2_format,omitempty"`
}

// DataKeyResult is a data key: the plaintext (SM4 key, or SM2 private key
// scalar), the wrapped form (a ciphertext of the named key that decrypts
// to that plaintext) and, for sm2, the public key PEM.
type DataKeyResult struct {
	Plaintext  []byte     `json:"plaintext,omitempty"`
	Ciphertext string     `json:"ciphertext,omitempty"`
	PublicKey  string     `json:"public_key,omitempty"`
	Error      *ItemError `json:"error,omitempty"`
}

// DeriveRequest asks for the derived key of a device, business and
// session under a derived key.
type DeriveRequest struct {
	Derivation
	Version     int  `json:"version,omitempty"`
	WrappedOnly bool `json:"wrapped_only,omitempty"`
}

// DeriveResult is a derived SM4 key, in clear unless WrappedOnly, and
// wrapped under the parent key version.
type DeriveResult struct {
	Plaintext  []byte     `json:"plaintext,omitempty"`
	Ciphertext string     `json:"ciphertext,omitempty"`
	KeyVersion int        `json:"key_version,omitempty"`
	Error      *ItemError `json:"error,omitempty"`
}

// HashResult is an SM3 digest.
type HashResult struct {
	Hash  []byte     `json:"hash,omitempty"`
	Error *ItemError `json:"error,omitempty"`
}

// batchBody is the body of every batch request and answer.
type batchBody[T any] struct {
	Batch []T `json:"batch"`
}

// batch posts items as one batch request and returns one result per item,
// in CBOR with WithCBORBatches.
func batch[Q, R any](ctx context.Context, c *Client, path string, items []Q) ([]R, error) {
	var out batchBody[R]
	if !c.cborBatches {
		return out.Batch, c.do(ctx, http.MethodPost, path, batchBody[Q]{Batch: items}, &out)
	}
	b, err := cbor.Marshal(batchBody[Q]{Batch: items})
	if err != nil {
		return nil, fmt.Errorf("sdk: encoding request: %w", err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mediaCBOR)
	resp, err := c.doRequest(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := cbor.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("sdk: decoding answer: %w", err)
	}
	return out.Batch, nil
}

// one posts a single request and decodes the result.
func one[R any](ctx context.Context, c *Client, path string, req any) (R, error) {
	var r R
	return r, c.do(ctx, http.MethodPost, path, req, &r)
}

// Encrypt encrypts under key.
func (c *Client) Encrypt(ctx context.Context, key string, req EncryptRequest) (EncryptResult, error) {
	return one[EncryptResult](ctx, c, keyPath(key, "encrypt"), req)
}

// EncryptBatch encrypts many items; each result holds its own error.
func (c *Client) EncryptBatch(ctx context.Context, key string, items []EncryptRequest) ([]EncryptResult, error) {
	return batch[EncryptRequest, EncryptResult](ctx, c, keyPath(key, "encrypt"), items)
}

// Decrypt decrypts a ciphertext of key.
func (c *Client) Decrypt(ctx context.Context, key string, req DecryptRequest) (DecryptResult, error) {
	return one[DecryptResult](ctx, c, keyPath(key, "decrypt"), req)
}

// DecryptBatch decrypts many items.
func (c *Client) DecryptBatch(ctx context.Context, key string, items []DecryptRequest) ([]DecryptResult, error) {
	return batch[DecryptRequest, DecryptResult](ctx, c, keyPath(key, "decrypt"), items)
}

// ReEncrypt moves a ciphertext of key to req.ToKey (or the latest version
// of key).
func (c *Client) ReEncrypt(ctx context.Context, key string, req ReEncryptRequest) (EncryptResult, error) {
	return one[EncryptResult](ctx, c, keyPath(key, "reencrypt"), req)
}

// Sign signs with an sm2 key.
func (c *Client) Sign(ctx context.Context, key string, req SignRequest) (SignResult, error) {
	return one[SignResult](ctx, c, keyPath(key, "sign"), req)
}

// SignBatch signs many items.
func (c *Client) SignBatch(ctx context.Context, key string, items []SignRequest) ([]SignResult, error) {
	return batch[SignRequest, SignResult](ctx, c, keyPath(key, "sign"), items)
}

// Verify checks a signature.
func (c *Client) Verify(ctx context.Context, key string, req VerifyRequest) (VerifyResult, error) {
	return one[VerifyResult](ctx, c, keyPath(key, "verify"), req)
}

// VerifyBatch checks many signatures.
func (c *Client) VerifyBatch(ctx context.Context, key string, items []VerifyRequest) ([]VerifyResult, error) {
	return batch[VerifyRequest, VerifyResult](ctx, c, keyPath(key, "verify"), items)
}

// MAC computes a MAC.
func (c *Client) MAC(ctx context.Context, key string, req MACRequest) (MACResult, error) {
	return one[MACResult](ctx, c, keyPath(key, "mac"), req)
}

// MACBatch computes many MACs.
func (c *Client) MACBatch(ctx context.Context, key string, items []MACRequest) ([]MACResult, error) {
	return batch[MACRequest, MACResult](ctx, c, keyPath(key, "mac"), items)
}

// VerifyMAC checks a MAC in constant time.
func (c *Client) VerifyMAC(ctx context.Context, key string, req VerifyMACRequest) (VerifyResult, error) {
	return one[VerifyResult](ctx, c, keyPath(key, "verify-mac"), req)
}

// DataKey makes a fresh data key wrapped under key.
func (c *Client) DataKey(ctx context.Context, key string, req DataKeyRequest) (DataKeyResult, error) {
	return one[DataKeyResult](ctx, c, keyPath(key, "datakey"), req)
}

// Derive returns a per-device (business, session) key of a derived key.
func (c *Client) Derive(ctx context.Context, key string, req DeriveRequest) (DeriveResult, error) {
	return one[DeriveResult](ctx, c, keyPath(key, "derive"), req)
}

// Hash returns SM3(data).
func (c *Client) Hash(ctx context.Context, data []byte) ([]byte, error) {
	r, err := one[HashResult](ctx, c, "/v1/hash", map[string][]byte{"input": data})
	return r.Hash, err
}

// HashStream returns SM3 of everything r yields, streamed to the server
// without holding it in memory.
func (c *Client) HashStream(ctx context.Context, r io.Reader) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/hash", r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.doRequest(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out HashResult
	return out.Hash, decodeJSON(resp.Body, &out)
}

// Random returns n random bytes (at most 1 MiB) from the server's DRBG.
func (c *Client) Random(ctx context.Context, n int) ([]byte, error) {
	var out struct {
		Random []byte `json:"random"`
	}
	return out.Random, c.do(ctx, http.MethodPost, "/v1/random", map[string]int{"bytes": n}, &out)
}
