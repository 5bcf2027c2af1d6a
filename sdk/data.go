package sdk

import "context"

// DataClient groups the calls on data protection: format-preserving encryption and masking; get it with [Client.Data].
type DataClient struct{ c *Client }

// Data returns the client of data protection: format-preserving encryption and masking.
func (c *Client) Data() DataClient { return DataClient{c} }

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

// FPEEncrypt encrypts req.Input under key with FF1, keeping its format.
func (cl DataClient) FPEEncrypt(ctx context.Context, key string, req FPERequest) (FPEResult, error) {
	return one[FPEResult](ctx, cl.c, keyPath(key, "fpe"), req)
}

// FPEDecrypt reverses FPE.
func (cl DataClient) FPEDecrypt(ctx context.Context, key string, req FPERequest) (FPEResult, error) {
	return one[FPEResult](ctx, cl.c, keyPath(key, "fpe-decrypt"), req)
}

// Mask returns the mask of a value (docs/data.md lists the rules).
func (cl DataClient) Mask(ctx context.Context, req MaskRequest) (MaskResult, error) {
	return one[MaskResult](ctx, cl.c, "/v1/mask", req)
}
