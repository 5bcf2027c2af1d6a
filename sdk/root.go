package sdk

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
)

const generateRootPath = "/v1/sys/generate-root/attempt"

// InitRequest initialises a cluster. RootTokenTTL, a Go duration, makes
// the root token expire; empty means never.
type InitRequest struct {
	Shares       int    `json:"shares"`
	Threshold    int    `json:"threshold"`
	RootTokenTTL string `json:"root_token_ttl,omitempty"`
}

// InitCluster initialises a new cluster.
func (c *Client) InitCluster(ctx context.Context, req InitRequest) (InitResult, error) {
	var r InitResult
	return r, c.do(ctx, http.MethodPost, "/v1/sys/init", req, &r)
}

// GenerateRootStatus is the state of a generate-root attempt. The share
// that completes it receives EncodedToken: the new root token XORed with
// the attempt's one-time pad (see DecodeRootToken).
type GenerateRootStatus struct {
	Started      bool   `json:"started"`
	Nonce        string `json:"nonce,omitempty"`
	Progress     int    `json:"progress"`
	Required     int    `json:"required"`
	Complete     bool   `json:"complete"`
	EncodedToken []byte `json:"encoded_token,omitempty"`
	OTPLength    int    `json:"otp_length"`
}

// GenerateRootAttempt reports the generate-root attempt in progress.
func (c *Client) GenerateRootAttempt(ctx context.Context) (GenerateRootStatus, error) {
	var s GenerateRootStatus
	return s, c.do(ctx, http.MethodGet, generateRootPath, nil, &s)
}

// StartGenerateRoot starts a generate-root attempt with the one-time pad
// otp (see NewOTP); ttl, a Go duration, makes the new root token expire
// ("" for never). Give the answer's nonce to the share custodians.
func (c *Client) StartGenerateRoot(ctx context.Context, otp []byte, ttl string) (GenerateRootStatus, error) {
	var s GenerateRootStatus
	body := struct {
		OTP []byte `json:"otp"`
		TTL string `json:"ttl,omitempty"`
	}{otp, ttl}
	return s, c.do(ctx, http.MethodPost, generateRootPath, body, &s)
}

// UpdateGenerateRoot enters one key share into the attempt named by nonce.
func (c *Client) UpdateGenerateRoot(ctx context.Context, nonce, share string) (GenerateRootStatus, error) {
	var s GenerateRootStatus
	return s, c.do(ctx, http.MethodPost, "/v1/sys/generate-root/update", map[string]string{"nonce": nonce, "share": share}, &s)
}

// CancelGenerateRoot ends the generate-root attempt in progress.
func (c *Client) CancelGenerateRoot(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, generateRootPath, nil, nil)
}

// NewOTP returns a random one-time pad of n bytes for StartGenerateRoot;
// n is the OTPLength of GenerateRootAttempt.
func NewOTP(n int) ([]byte, error) {
	otp := make([]byte, n)
	_, err := rand.Read(otp)
	return otp, err
}

// DecodeRootToken undoes the one-time pad of a generate-root answer.
func DecodeRootToken(encoded, otp []byte) (string, error) {
	if len(encoded) != len(otp) {
		return "", errors.New("sdk: the encoded token and the one-time pad differ in length")
	}
	tok := make([]byte, len(otp))
	subtle.XORBytes(tok, encoded, otp)
	return string(tok), nil
}

// RevokeRootToken revokes the calling root token; the server refuses
// (last_root_token) unless another live root token exists.
func (c *Client) RevokeRootToken(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/v1/sys/root-token", nil, nil)
}

// RenewSelf extends the calling token's life by increment, a Go duration
// ("" for the token's own TTL), up to its maximum. Only tenant admin
// tokens are renewable.
func (c *Client) RenewSelf(ctx context.Context, increment string) (TokenInfo, error) {
	var t TokenInfo
	return t, c.do(ctx, http.MethodPost, "/v1/tokens/self/renew", map[string]string{"increment": increment}, &t)
}

// DeleteTenant deletes a tenant (root token): its keys are scheduled for
// deletion and its tokens revoked.
func (c *Client) DeleteTenant(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/tenants/"+url.PathEscape(name), nil, nil)
}
