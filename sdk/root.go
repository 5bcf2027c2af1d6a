package sdk

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
)

const generateRootPath = "/v1/sys/generate-root/attempt"

// InitRequest initialises a cluster. RootTokenTTL, a Go duration, makes
// the root token expire; empty means never.
type InitRequest struct {
	Shares       int    `json:"shares"`
	Threshold    int    `json:"threshold"`
	RootTokenTTL string `json:"root_token_ttl,omitempty"`
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
