package sdk

import "context"

// FPERequest is a format-preserving encryption (FF1 with SM4, NIST SP
// 800-38G) of Input, a string over Alphabet (default "0123456789"), under
// Tweak. Version is the key version, 0 for the latest; decrypt with the
// version the encryption answered.
type FPERequest struct {
	Alphabet string `json:"alphabet,omitempty"`
	Input    string `json:"input"`
	Tweak    string `json:"tweak,omitempty"`
	Version  int    `json:"version,omitempty"`
}

// FPEResult is the output, of the input's length and alphabet.
type FPEResult struct {
	Output     string `json:"output"`
	KeyVersion int    `json:"key_version"`
}

// MaskRequest masks Input as a value of Kind: phone, id-card, bank-card,
// name or address.
type MaskRequest struct {
	Kind  string `json:"kind"`
	Input string `json:"input"`
}

// MaskResult is the masked value.
type MaskResult struct {
	Output string `json:"output"`
}

// FPE encrypts req.Input under key with FF1, keeping its format.
func (c *Client) FPE(ctx context.Context, key string, req FPERequest) (FPEResult, error) {
	return one[FPEResult](ctx, c, keyPath(key, "fpe"), req)
}

// FPEDecrypt reverses FPE.
func (c *Client) FPEDecrypt(ctx context.Context, key string, req FPERequest) (FPEResult, error) {
	return one[FPEResult](ctx, c, keyPath(key, "fpe-decrypt"), req)
}

// Mask returns the mask of a value (docs/data.md lists the rules).
func (c *Client) Mask(ctx context.Context, req MaskRequest) (MaskResult, error) {
	return one[MaskResult](ctx, c, "/v1/mask", req)
}
