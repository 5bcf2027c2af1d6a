package sdk

import (
	"context"
	"net/url"
)

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
	Ciphertext []byte `json:"ciphertext"`
}

// SM9DecryptRequest decrypts with the hosted key of identity ID.
type SM9DecryptRequest struct {
	ID         string `json:"id"`
	Ciphertext []byte `json:"ciphertext"`
	HID        byte   `json:"hid,omitempty"`
}

// SM9DecryptResult is a plaintext.
type SM9DecryptResult struct {
	Plaintext []byte `json:"plaintext"`
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

// SM9Extract extracts and delivers the user key of one identity.
func (c *Client) SM9Extract(ctx context.Context, kgc string, req SM9ExtractRequest) (SM9Extracted, error) {
	return one[SM9Extracted](ctx, c, sm9Path(kgc, "extract"), req)
}

// SM9ExtractBatch extracts many identities' keys in one call.
func (c *Client) SM9ExtractBatch(ctx context.Context, kgc string, items []SM9ExtractRequest) ([]SM9Extracted, error) {
	return batch[SM9ExtractRequest, SM9Extracted](ctx, c, sm9Path(kgc, "extract"), items)
}

// SM9Sign signs with a hosted identity key.
func (c *Client) SM9Sign(ctx context.Context, kgc string, req SM9SignRequest) (SM9SignResult, error) {
	return one[SM9SignResult](ctx, c, sm9Path(kgc, "sign"), req)
}

// SM9SignBatch signs many items.
func (c *Client) SM9SignBatch(ctx context.Context, kgc string, items []SM9SignRequest) ([]SM9SignResult, error) {
	return batch[SM9SignRequest, SM9SignResult](ctx, c, sm9Path(kgc, "sign"), items)
}

// SM9Verify checks an SM9 signature.
func (c *Client) SM9Verify(ctx context.Context, kgc string, req SM9VerifyRequest) (SM9VerifyResult, error) {
	return one[SM9VerifyResult](ctx, c, sm9Path(kgc, "verify"), req)
}

// SM9VerifyBatch checks many signatures.
func (c *Client) SM9VerifyBatch(ctx context.Context, kgc string, items []SM9VerifyRequest) ([]SM9VerifyResult, error) {
	return batch[SM9VerifyRequest, SM9VerifyResult](ctx, c, sm9Path(kgc, "verify"), items)
}

// SM9Encrypt encrypts to an identity.
func (c *Client) SM9Encrypt(ctx context.Context, kgc string, req SM9EncryptRequest) (SM9EncryptResult, error) {
	return one[SM9EncryptResult](ctx, c, sm9Path(kgc, "encrypt"), req)
}

// SM9Decrypt decrypts with a hosted identity key.
func (c *Client) SM9Decrypt(ctx context.Context, kgc string, req SM9DecryptRequest) (SM9DecryptResult, error) {
	return one[SM9DecryptResult](ctx, c, sm9Path(kgc, "decrypt"), req)
}

// SM9Revoke revokes identities of a KGC.
func (c *Client) SM9Revoke(ctx context.Context, kgc string, ids []string) error {
	return c.do(ctx, "POST", sm9Path(kgc, "revoke"), SM9RevokeRequest{IDs: ids}, nil)
}

// SM9MasterPublicKey fetches a KGC's master public key (PEM), without a
// token.
func (c *Client) SM9MasterPublicKey(ctx context.Context, tenant, kgc string) (string, error) {
	return c.text(ctx, "/v1/pki/"+url.PathEscape(tenant)+"/sm9/"+url.PathEscape(kgc)+"/public")
}

// SM9RevocationListOf fetches a KGC's signed revocation list, without a
// token.
func (c *Client) SM9RevocationListOf(ctx context.Context, tenant, kgc string) (SM9RevocationList, error) {
	var l SM9RevocationList
	err := c.do(ctx, "GET", "/v1/pki/"+url.PathEscape(tenant)+"/sm9/"+url.PathEscape(kgc)+"/revoked", nil, &l)
	return l, err
}
