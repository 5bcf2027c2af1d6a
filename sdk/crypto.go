package sdk

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// CryptoClient groups the calls on the cryptographic operations with a key: encryption, signatures, MACs, data keys, hashing, random bytes, ZUC and envelopes; get it with [Client.Crypto].
type CryptoClient struct{ c *Client }

// Crypto returns the client of the cryptographic operations with a key: encryption, signatures, MACs, data keys, hashing, random bytes, ZUC and envelopes.
func (c *Client) Crypto() CryptoClient { return CryptoClient{c} }

// mediaCBOR is the media type of CBOR batch bodies (WithCBORBatches).
const mediaCBOR = "application/cbor"

// ItemError is the error of one batch item.
type ItemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error describes the item error with its code.
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
	resp, err := c.postBody(ctx, path, mediaCBOR, "", bytes.NewReader(b))
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

// EEA3 encrypts or decrypts a message with a ZUC key (128-EEA3 or
// ZUC-256); it is its own inverse.
func (cl CryptoClient) EEA3(ctx context.Context, key string, req ZUCRequest) (EEA3Result, error) {
	return one[EEA3Result](ctx, cl.c, keyPath(key, "eea3"), req)
}

// EEA3Batch is EEA3 for many messages (PDUs) in one call.
func (cl CryptoClient) EEA3Batch(ctx context.Context, key string, items []ZUCRequest) ([]EEA3Result, error) {
	return batch[ZUCRequest, EEA3Result](ctx, cl.c, keyPath(key, "eea3"), items)
}

// EIA3 computes the MAC of a message with a ZUC key (128-EIA3 or ZUC-256).
// A receiver checks a MAC by computing it and comparing.
func (cl CryptoClient) EIA3(ctx context.Context, key string, req ZUCRequest) (EIA3Result, error) {
	return one[EIA3Result](ctx, cl.c, keyPath(key, "eia3"), req)
}

// EIA3Batch is EIA3 for many messages (PDUs) in one call.
func (cl CryptoClient) EIA3Batch(ctx context.Context, key string, items []ZUCRequest) ([]EIA3Result, error) {
	return batch[ZUCRequest, EIA3Result](ctx, cl.c, keyPath(key, "eia3"), items)
}

// Encrypt encrypts under key.
func (cl CryptoClient) Encrypt(ctx context.Context, key string, req EncryptRequest) (EncryptResult, error) {
	return one[EncryptResult](ctx, cl.c, keyPath(key, "encrypt"), req)
}

// EncryptBatch encrypts many items; each result holds its own error.
func (cl CryptoClient) EncryptBatch(ctx context.Context, key string, items []EncryptRequest) ([]EncryptResult, error) {
	return batch[EncryptRequest, EncryptResult](ctx, cl.c, keyPath(key, "encrypt"), items)
}

// Decrypt decrypts a ciphertext of key.
func (cl CryptoClient) Decrypt(ctx context.Context, key string, req DecryptRequest) (DecryptResult, error) {
	return one[DecryptResult](ctx, cl.c, keyPath(key, "decrypt"), req)
}

// DecryptBatch decrypts many items.
func (cl CryptoClient) DecryptBatch(ctx context.Context, key string, items []DecryptRequest) ([]DecryptResult, error) {
	return batch[DecryptRequest, DecryptResult](ctx, cl.c, keyPath(key, "decrypt"), items)
}

// ReEncrypt moves a ciphertext of key to req.ToKey (or the latest version
// of key).
func (cl CryptoClient) ReEncrypt(ctx context.Context, key string, req ReEncryptRequest) (EncryptResult, error) {
	return one[EncryptResult](ctx, cl.c, keyPath(key, "reencrypt"), req)
}

// Sign signs with an sm2 key.
func (cl CryptoClient) Sign(ctx context.Context, key string, req SignRequest) (SignResult, error) {
	return one[SignResult](ctx, cl.c, keyPath(key, "sign"), req)
}

// SignBatch signs many items.
func (cl CryptoClient) SignBatch(ctx context.Context, key string, items []SignRequest) ([]SignResult, error) {
	return batch[SignRequest, SignResult](ctx, cl.c, keyPath(key, "sign"), items)
}

// Verify checks a signature.
func (cl CryptoClient) Verify(ctx context.Context, key string, req VerifyRequest) (VerifyResult, error) {
	return one[VerifyResult](ctx, cl.c, keyPath(key, "verify"), req)
}

// VerifyBatch checks many signatures.
func (cl CryptoClient) VerifyBatch(ctx context.Context, key string, items []VerifyRequest) ([]VerifyResult, error) {
	return batch[VerifyRequest, VerifyResult](ctx, cl.c, keyPath(key, "verify"), items)
}

// MAC computes a MAC.
func (cl CryptoClient) MAC(ctx context.Context, key string, req MACRequest) (MACResult, error) {
	return one[MACResult](ctx, cl.c, keyPath(key, "mac"), req)
}

// MACBatch computes many MACs.
func (cl CryptoClient) MACBatch(ctx context.Context, key string, items []MACRequest) ([]MACResult, error) {
	return batch[MACRequest, MACResult](ctx, cl.c, keyPath(key, "mac"), items)
}

// VerifyMAC checks a MAC in constant time.
func (cl CryptoClient) VerifyMAC(ctx context.Context, key string, req VerifyMACRequest) (VerifyResult, error) {
	return one[VerifyResult](ctx, cl.c, keyPath(key, "verify-mac"), req)
}

// DataKey makes a fresh data key wrapped under key.
func (cl CryptoClient) DataKey(ctx context.Context, key string, req DataKeyRequest) (DataKeyResult, error) {
	return one[DataKeyResult](ctx, cl.c, keyPath(key, "datakey"), req)
}

// Derive returns a per-device (business, session) key of a derived key.
func (cl CryptoClient) Derive(ctx context.Context, key string, req DeriveRequest) (DeriveResult, error) {
	return one[DeriveResult](ctx, cl.c, keyPath(key, "derive"), req)
}

// Hash returns SM3(data).
func (cl CryptoClient) Hash(ctx context.Context, data []byte) ([]byte, error) {
	r, err := one[HashResult](ctx, cl.c, "/v1/hash", map[string][]byte{"input": data})
	return r.Hash, err
}

// HashStream returns SM3 of everything r yields, streamed to the server
// without holding it in memory.
func (cl CryptoClient) HashStream(ctx context.Context, r io.Reader) ([]byte, error) {
	resp, err := cl.c.postBody(ctx, "/v1/hash", "application/octet-stream", "", r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out HashResult
	return out.Hash, decodeJSON(resp.Body, &out)
}

// Random returns n random bytes (at most 1 MiB) from the server's DRBG.
func (cl CryptoClient) Random(ctx context.Context, n int) ([]byte, error) {
	var out struct {
		Random []byte `json:"random"`
	}
	return out.Random, cl.c.do(ctx, http.MethodPost, "/v1/random", map[string]int{"bytes": n}, &out)
}

// EncryptEnvelope encrypts src of any size into dst under a fresh data key
// wrapped under key: only the data key crosses the wire.
func (cl CryptoClient) EncryptEnvelope(ctx context.Context, key string, dst io.Writer, src io.Reader) error {
	dk, err := cl.c.Crypto().DataKey(ctx, key, DataKeyRequest{Kind: "sm4"})
	if err != nil {
		return err
	}
	defer clear(dk.Plaintext)
	header := []byte(envelopeMagic + "\n" + dk.Ciphertext + "\n")
	if _, err := dst.Write(header); err != nil {
		return err
	}
	s, err := newSegmenter(dk.Plaintext, header)
	if err != nil {
		return err
	}
	buf := make([]byte, envelopeSegment)
	br := bufio.NewReaderSize(src, envelopeSegment)
	for {
		n, err := io.ReadFull(br, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return err
		}
		_, peekErr := br.Peek(1)
		last := err != nil || peekErr == io.EOF
		if _, err := dst.Write(s.seal(buf[:n], last)); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}

// DecryptEnvelope decrypts an envelope made by EncryptEnvelope under key,
// writing the plaintext to dst a segment at a time, each only once it has
// authenticated; an envelope cut short fails at its end.
func (cl CryptoClient) DecryptEnvelope(ctx context.Context, key string, dst io.Writer, src io.Reader) error {
	br := bufio.NewReaderSize(src, envelopeSegment+16+1)
	magic, err := br.ReadString('\n')
	if err != nil || magic != envelopeMagic+"\n" {
		return fmt.Errorf("sdk: not a mima envelope (it starts with %q)", envelopeMagic)
	}
	wrapped, err := readLine(br, maxWrappedLine)
	if err != nil {
		return fmt.Errorf("sdk: the envelope's wrapped key: %w", err)
	}
	dk, err := cl.c.Crypto().Decrypt(ctx, key, DecryptRequest{Ciphertext: strings.TrimSuffix(wrapped, "\n")})
	if err != nil {
		return err
	}
	defer clear(dk.Plaintext)
	s, err := newSegmenter(dk.Plaintext, []byte(magic+wrapped))
	if err != nil {
		return err
	}
	buf := make([]byte, envelopeSegment+16)
	for {
		n, err := io.ReadFull(br, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return err
		}
		_, peekErr := br.Peek(1)
		last := err != nil || peekErr == io.EOF
		pt, err := s.open(buf[:n], last)
		if err != nil {
			return err
		}
		if _, err := dst.Write(pt); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}
