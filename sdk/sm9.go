package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
)

// SM9Client is the part of the API for SM9 key generation centres, identity keys and their operations.
type SM9Client struct{ c *Client }

// SM9 returns the SM9 sub-client.
func (c *Client) SM9() SM9Client { return SM9Client{c} }

// SM9Delivery says how an extracted SM9 user key leaves the KGC: exactly
// one of Hosted, SM2PublicKey (PEM) and Password.
type SM9Delivery struct {
	Hosted       bool   `json:"hosted,omitempty"`
	SM2PublicKey string `json:"sm2_public_key,omitempty"`
	Password     string `json:"password,omitempty"`
}

// SM9ExtractRequest asks a KGC for the user key of identity ID.
type SM9ExtractRequest struct {
	ID      string      `json:"id"`
	HID     byte        `json:"hid,omitempty"`
	Deliver SM9Delivery `json:"deliver"`
}

// SM9Extracted is a delivered user key: Key names a hosted key; Envelope
// is the key SM2-encrypted to the terminal; Sealed is the key under the
// password, in the backup format.
type SM9Extracted struct {
	ID            string     `json:"id,omitempty"`
	Key           string     `json:"key,omitempty"`
	Envelope      []byte     `json:"envelope,omitempty"`
	Sealed        []byte     `json:"sealed,omitempty"`
	MasterVersion int        `json:"master_version,omitempty"`
	Error         *ItemError `json:"error,omitempty"`
}

// SM9SignRequest signs Input with the hosted key of identity ID.
type SM9SignRequest struct {
	ID    string `json:"id"`
	Input []byte `json:"input"`
	HID   byte   `json:"hid,omitempty"`
}

// SM9SignResult is a DER SM9Signature.
type SM9SignResult struct {
	Signature []byte     `json:"signature,omitempty"`
	Error     *ItemError `json:"error,omitempty"`
}

// SM9VerifyRequest checks an SM9 signature by identity ID.
type SM9VerifyRequest struct {
	ID        string `json:"id"`
	Input     []byte `json:"input"`
	Signature []byte `json:"signature"`
	HID       byte   `json:"hid,omitempty"`
	Version   int    `json:"version,omitempty"`
}

// SM9VerifyResult says whether a signature is valid; Reason is
// identity_expired or identity_revoked when the identity is at fault.
type SM9VerifyResult struct {
	Valid  bool       `json:"valid"`
	Reason string     `json:"reason,omitempty"`
	Error  *ItemError `json:"error,omitempty"`
}

// SM9EncryptRequest encrypts Plaintext to identity ID; Mode is "xor"
// (default) or "sm4-cbc".
type SM9EncryptRequest struct {
	ID        string `json:"id"`
	Plaintext []byte `json:"plaintext"`
	Mode      string `json:"mode,omitempty"`
	HID       byte   `json:"hid,omitempty"`
}

// SM9EncryptResult is a DER SM9Cipher.
type SM9EncryptResult struct {
	Ciphertext []byte     `json:"ciphertext,omitempty"`
	Error      *ItemError `json:"error,omitempty"`
}

// SM9DecryptRequest decrypts with the hosted key of identity ID.
type SM9DecryptRequest struct {
	ID         string `json:"id"`
	Ciphertext []byte `json:"ciphertext"`
	HID        byte   `json:"hid,omitempty"`
}

// SM9DecryptResult is a plaintext.
type SM9DecryptResult struct {
	Plaintext []byte     `json:"plaintext,omitempty"`
	Error     *ItemError `json:"error,omitempty"`
}

// SM9EncapsulateRequest asks for a fresh Length-byte key (16 to 64) for
// identity ID of an encryption KGC, and its encapsulation.
type SM9EncapsulateRequest struct {
	ID     string `json:"id"`
	Length int    `json:"length"`
	HID    byte   `json:"hid,omitempty"`
}

// SM9Encapsulated is a key and its encapsulation C (the uncompressed
// point), which only the identity's key opens.
type SM9Encapsulated struct {
	Key           []byte `json:"key"`
	Encapsulation []byte `json:"encapsulation"`
}

// SM9DecapsulateRequest opens an encapsulation with the hosted key of
// identity ID.
type SM9DecapsulateRequest struct {
	ID            string `json:"id"`
	Encapsulation []byte `json:"encapsulation"`
	Length        int    `json:"length"`
	HID           byte   `json:"hid,omitempty"`
}

// SM9DecapsulateResult is the encapsulated key.
type SM9DecapsulateResult struct {
	Key []byte `json:"key"`
}

// SM9ExchangeRequest starts an SM9 key exchange (GM/T 0044 part 3) with
// the hosted identity ID (its key extracted with hid 0x02) as responder:
// Peer is the initiator's identity and RA its point R_A.
type SM9ExchangeRequest struct {
	ID     string `json:"id"`
	Peer   string `json:"peer"`
	RA     []byte `json:"ra"`
	Length int    `json:"length"`
}

// SM9ExchangeResult is the responder's point R_B and confirmation S_B,
// which the initiator checks, and the shared key.
type SM9ExchangeResult struct {
	RB  []byte `json:"rb"`
	SB  []byte `json:"sb"`
	Key []byte `json:"key"`
}

// SM9RevokeRequest revokes identities.
type SM9RevokeRequest struct {
	IDs []string `json:"ids"`
}

// SM9RevocationList is a KGC's published list: Body is JSON (tenant, kgc,
// master_version, serial, issued_at, revoked) and Signature its SM9
// signature by identity Signer under the master public key.
type SM9RevocationList struct {
	Body      []byte `json:"body"`
	Signer    string `json:"signer,omitempty"`
	Signature []byte `json:"signature,omitempty"`
}

func sm9Path(kgc, op string) string { return keyPath(kgc, "sm9", op) }

// sm9PublicPath is the path of a KGC's public route (no token).
func sm9PublicPath(tenant, kgc, op string) string {
	return "/v1/pki/" + url.PathEscape(tenant) + "/sm9/" + url.PathEscape(kgc) + "/" + op
}

// SM9Extract extracts and delivers the user key of one identity.
func (cl SM9Client) Extract(ctx context.Context, kgc string, req SM9ExtractRequest) (SM9Extracted, error) {
	return one[SM9Extracted](ctx, cl.c, sm9Path(kgc, "extract"), req)
}

// SM9ExtractBatch extracts many identities' keys in one call.
func (cl SM9Client) ExtractBatch(ctx context.Context, kgc string, items []SM9ExtractRequest) ([]SM9Extracted, error) {
	return batch[SM9ExtractRequest, SM9Extracted](ctx, cl.c, sm9Path(kgc, "extract"), items)
}

// SM9ExtractStream extracts many identities' keys in one call and hands
// each result to fn in order as the server streams it (JSON lines), so
// that neither side holds the whole answer. fn's error stops reading.
func (cl SM9Client) ExtractStream(ctx context.Context, kgc string, items []SM9ExtractRequest, fn func(SM9Extracted) error) error {
	b, err := json.Marshal(batchBody[SM9ExtractRequest]{Batch: items})
	if err != nil {
		return fmt.Errorf("sdk: encoding request: %w", err)
	}
	resp, err := cl.c.postBody(ctx, sm9Path(kgc, "extract"), "application/json", MediaJSONLines, bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for n := 0; ; n++ {
		var x SM9Extracted
		if err := dec.Decode(&x); err == io.EOF {
			if n != len(items) {
				return fmt.Errorf("sdk: the extraction stream ended after %d of %d items", n, len(items))
			}
			return nil
		} else if err != nil {
			return fmt.Errorf("sdk: decoding answer: %w", err)
		}
		if err := fn(x); err != nil {
			return err
		}
	}
}

// MediaJSONLines is the media type of answers streamed as JSON lines.
const MediaJSONLines = "application/x-ndjson"

// SM9Sign signs with a hosted identity key.
func (cl SM9Client) Sign(ctx context.Context, kgc string, req SM9SignRequest) (SM9SignResult, error) {
	return one[SM9SignResult](ctx, cl.c, sm9Path(kgc, "sign"), req)
}

// SM9SignBatch signs many items.
func (cl SM9Client) SignBatch(ctx context.Context, kgc string, items []SM9SignRequest) ([]SM9SignResult, error) {
	return batch[SM9SignRequest, SM9SignResult](ctx, cl.c, sm9Path(kgc, "sign"), items)
}

// SM9Verify checks an SM9 signature.
func (cl SM9Client) Verify(ctx context.Context, kgc string, req SM9VerifyRequest) (SM9VerifyResult, error) {
	return one[SM9VerifyResult](ctx, cl.c, sm9Path(kgc, "verify"), req)
}

// SM9VerifyBatch checks many signatures.
func (cl SM9Client) VerifyBatch(ctx context.Context, kgc string, items []SM9VerifyRequest) ([]SM9VerifyResult, error) {
	return batch[SM9VerifyRequest, SM9VerifyResult](ctx, cl.c, sm9Path(kgc, "verify"), items)
}

// SM9VerifyPublic checks an SM9 signature by an identity of tenant's KGC
// kgc without a token, as devices do.
func (cl SM9Client) VerifyPublic(ctx context.Context, tenant, kgc string, req SM9VerifyRequest) (SM9VerifyResult, error) {
	return one[SM9VerifyResult](ctx, cl.c, sm9PublicPath(tenant, kgc, "verify"), req)
}

// SM9Encrypt encrypts to an identity.
func (cl SM9Client) Encrypt(ctx context.Context, kgc string, req SM9EncryptRequest) (SM9EncryptResult, error) {
	return one[SM9EncryptResult](ctx, cl.c, sm9Path(kgc, "encrypt"), req)
}

// SM9EncryptBatch encrypts many items.
func (cl SM9Client) EncryptBatch(ctx context.Context, kgc string, items []SM9EncryptRequest) ([]SM9EncryptResult, error) {
	return batch[SM9EncryptRequest, SM9EncryptResult](ctx, cl.c, sm9Path(kgc, "encrypt"), items)
}

// SM9Decrypt decrypts with a hosted identity key.
func (cl SM9Client) Decrypt(ctx context.Context, kgc string, req SM9DecryptRequest) (SM9DecryptResult, error) {
	return one[SM9DecryptResult](ctx, cl.c, sm9Path(kgc, "decrypt"), req)
}

// SM9DecryptBatch decrypts many items.
func (cl SM9Client) DecryptBatch(ctx context.Context, kgc string, items []SM9DecryptRequest) ([]SM9DecryptResult, error) {
	return batch[SM9DecryptRequest, SM9DecryptResult](ctx, cl.c, sm9Path(kgc, "decrypt"), items)
}

// SM9Encapsulate returns a fresh key for an identity and its
// encapsulation.
func (cl SM9Client) Encapsulate(ctx context.Context, kgc string, req SM9EncapsulateRequest) (SM9Encapsulated, error) {
	return one[SM9Encapsulated](ctx, cl.c, sm9Path(kgc, "encapsulate"), req)
}

// SM9Decapsulate opens an encapsulation with a hosted identity key.
func (cl SM9Client) Decapsulate(ctx context.Context, kgc string, req SM9DecapsulateRequest) (SM9DecapsulateResult, error) {
	return one[SM9DecapsulateResult](ctx, cl.c, sm9Path(kgc, "decapsulate"), req)
}

// SM9Exchange runs the responder's side of an SM9 key exchange with a
// hosted identity.
func (cl SM9Client) Exchange(ctx context.Context, kgc string, req SM9ExchangeRequest) (SM9ExchangeResult, error) {
	return one[SM9ExchangeResult](ctx, cl.c, sm9Path(kgc, "exchange"), req)
}

// SM9Revoke revokes identities of a KGC.
func (cl SM9Client) Revoke(ctx context.Context, kgc string, ids []string) error {
	return cl.c.do(ctx, "POST", sm9Path(kgc, "revoke"), SM9RevokeRequest{IDs: ids}, nil)
}

// SM9MasterPublicKey fetches a KGC's master public key (PEM), without a
// token.
func (cl SM9Client) MasterPublicKey(ctx context.Context, tenant, kgc string) (string, error) {
	return cl.c.text(ctx, sm9PublicPath(tenant, kgc, "public"))
}

// SM9RevocationListOf fetches a KGC's signed revocation list, without a
// token.
func (cl SM9Client) RevocationList(ctx context.Context, tenant, kgc string) (SM9RevocationList, error) {
	var l SM9RevocationList
	err := cl.c.do(ctx, "GET", sm9PublicPath(tenant, kgc, "revoked"), nil, &l)
	return l, err
}
