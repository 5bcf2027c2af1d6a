package sdk

import "context"

// DNSClient is the part of the API for DNS: TSIG signatures (RFC 8945)
// with HMAC-SM3 keys held in mima.
type DNSClient struct{ c *Client }

// DNS returns the DNS sub-client.
func (c *Client) DNS() DNSClient { return DNSClient{c} }

// TSIGSignRequest asks POST /v1/keys/{name}/tsig/sign to add a TSIG record
// (RFC 8945) with HMAC-SM3 to a DNS message in wire form, replacing one it
// ends with. RequestMAC is the request's MAC when signing an answer, or the
// previous message's in a multi-message answer, where TimersOnly is set for
// every message after the first (section 5.3.1). KeyName defaults to the
// mima key's name with a final dot, Algorithm to "hmac-sm3.", Fudge to 300
// seconds.
type TSIGSignRequest struct {
	Message    []byte `json:"message"`
	RequestMAC []byte `json:"request_mac,omitempty"`
	TimersOnly bool   `json:"timers_only,omitempty"`
	KeyName    string `json:"key_name,omitempty"`
	Algorithm  string `json:"algorithm,omitempty"`
	Fudge      int    `json:"fudge,omitempty"`
}

// TSIGSignResult is the signed message and its MAC, the RequestMAC of the
// next step.
type TSIGSignResult struct {
	Message []byte `json:"message"`
	MAC     []byte `json:"mac"`
}

// TSIGVerifyRequest asks POST /v1/keys/{name}/tsig/verify to check the
// TSIG record that a DNS message in wire form ends with; the fields are
// TSIGSignRequest's.
type TSIGVerifyRequest struct {
	Message    []byte `json:"message"`
	RequestMAC []byte `json:"request_mac,omitempty"`
	TimersOnly bool   `json:"timers_only,omitempty"`
	KeyName    string `json:"key_name,omitempty"`
	Algorithm  string `json:"algorithm,omitempty"`
}

// TSIGVerifyResult says whether the TSIG is valid and, when not, the TSIG
// error a server answers with: BADKEY (another key name or algorithm),
// BADSIG (the MAC does not match) or BADTIME (time signed outside the
// fudge of the server's clock). MAC is the message's MAC, the RequestMAC
// of the next step.
type TSIGVerifyResult struct {
	Valid     bool   `json:"valid"`
	TSIGError string `json:"tsig_error,omitempty"`
	MAC       []byte `json:"mac,omitempty"`
}

// TSIGSign signs a DNS message with TSIG and an hmac-sm3 key.
func (cl DNSClient) TSIGSign(ctx context.Context, key string, req TSIGSignRequest) (TSIGSignResult, error) {
	return one[TSIGSignResult](ctx, cl.c, keyPath(key, "tsig", "sign"), req)
}

// TSIGVerify checks the TSIG of a DNS message with an hmac-sm3 key.
func (cl DNSClient) TSIGVerify(ctx context.Context, key string, req TSIGVerifyRequest) (TSIGVerifyResult, error) {
	return one[TSIGVerifyResult](ctx, cl.c, keyPath(key, "tsig", "verify"), req)
}
