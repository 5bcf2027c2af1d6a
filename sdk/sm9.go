package sdk

import (
	"context"
	"net/url"
)

// SM9Client groups the calls on SM9 identity-based cryptography with a key generation centre (KGC); get it with [Client.SM9].
type SM9Client struct{ c *Client }

// SM9 returns the client of SM9 identity-based cryptography with a key generation centre (KGC).
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

// Extract extracts and delivers the user key of one identity.
func (cl SM9Client) Extract(ctx context.Context, kgc string, req SM9ExtractRequest) (SM9Extracted, error) {
	return one[SM9Extracted](ctx, cl.c, sm9Path(kgc, "extract"), req)
}

// ExtractBatch extracts many identities' keys in one call.
func (cl SM9Client) ExtractBatch(ctx context.Context, kgc string, items []SM9ExtractRequest) ([]SM9Extracted, error) {
	return batch[SM9ExtractRequest, SM9Extracted](ctx, cl.c, sm9Path(kgc, "extract"), items)
}

// Sign signs with a hosted identity key.
func (cl SM9Client) Sign(ctx context.Context, kgc string, req SM9SignRequest) (SM9SignResult, error) {
	return one[SM9SignResult](ctx, cl.c, sm9Path(kgc, "sign"), req)
}

// SignBatch signs many items.
func (cl SM9Client) SignBatch(ctx context.Context, kgc string, items []SM9SignRequest) ([]SM9SignResult, error) {
	return batch[SM9SignRequest, SM9SignResult](ctx, cl.c, sm9Path(kgc, "sign"), items)
}

// Verify checks an SM9 signature.
func (cl SM9Client) Verify(ctx context.Context, kgc string, req SM9VerifyRequest) (SM9VerifyResult, error) {
	return one[SM9VerifyResult](ctx, cl.c, sm9Path(kgc, "verify"), req)
}

// VerifyBatch checks many signatures.
func (cl SM9Client) VerifyBatch(ctx context.Context, kgc string, items []SM9VerifyRequest) ([]SM9VerifyResult, error) {
	return batch[SM9VerifyRequest, SM9VerifyResult](ctx, cl.c, sm9Path(kgc, "verify"), items)
}

// Encrypt encrypts to an identity.
func (cl SM9Client) Encrypt(ctx context.Context, kgc string, req SM9EncryptRequest) (SM9EncryptResult, error) {
	return one[SM9EncryptResult](ctx, cl.c, sm9Path(kgc, "encrypt"), req)
}

// Decrypt decrypts with a hosted identity key.
func (cl SM9Client) Decrypt(ctx context.Context, kgc string, req SM9DecryptRequest) (SM9DecryptResult, error) {
	return one[SM9DecryptResult](ctx, cl.c, sm9Path(kgc, "decrypt"), req)
}

// Revoke revokes identities of a KGC.
func (cl SM9Client) Revoke(ctx context.Context, kgc string, ids []string) error {
	return cl.c.do(ctx, "POST", sm9Path(kgc, "revoke"), SM9RevokeRequest{IDs: ids}, nil)
}

// MasterPublicKey fetches a KGC's master public key (PEM), without a
// token.
func (cl SM9Client) MasterPublicKey(ctx context.Context, tenant, kgc string) (string, error) {
	return cl.c.text(ctx, "/v1/pki/"+url.PathEscape(tenant)+"/sm9/"+url.PathEscape(kgc)+"/public")
}

// RevocationList fetches a KGC's signed revocation list, without a
// token.
func (cl SM9Client) RevocationList(ctx context.Context, tenant, kgc string) (SM9RevocationList, error) {
	var l SM9RevocationList
	err := cl.c.do(ctx, "GET", "/v1/pki/"+url.PathEscape(tenant)+"/sm9/"+url.PathEscape(kgc)+"/revoked", nil, &l)
	return l, err
}
