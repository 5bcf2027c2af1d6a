// Package kat holds the known-answer vectors of mima's crypto devices and
// Check, a known-answer test of a device.Device through its public
// interface: the conformance suite (devicetest) replays the vectors in
// full, and a device pool runs Check as its periodic health check.
package kat

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
)

//go:embed testdata/vectors.json
var vectorsJSON []byte

// Hex is a hex string in vectors.json.
type Hex []byte

// UnmarshalJSON decodes a hex string.
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

// Vectors are the known-answer tests of testdata/vectors.json; the README
// there names their sources.
type Vectors struct {
	SM3 []struct {
		Source          string
		Message, Digest Hex
	}
	SM4 []struct {
		Source                     string
		Key, Plaintext, Ciphertext Hex
		Iterations                 int
	}
	SM4GCM []struct {
		Source                             string
		Key, Nonce, AAD, Plaintext, Sealed Hex
	} `json:"sm4_gcm"`
	HMACSM3 []MACVector `json:"hmac_sm3"`
	SM4CMAC []MACVector `json:"sm4_cmac"`
	SM2     struct {
		PrivateKey        Hex `json:"private_key"`
		PublicKey         Hex `json:"public_key"`
		UID, Message      Hex
		E, R, S           Hex
		EncryptPlaintext  Hex `json:"encrypt_plaintext"`
		EncryptCiphertext Hex `json:"encrypt_ciphertext_c1c3c2"`
	}
}

// MACVector is one MAC known-answer test.
type MACVector struct {
	Source            string
	Key, Message, MAC Hex
}

// Load returns the known-answer tests.
func Load() (Vectors, error) {
	var v Vectors
	if err := json.Unmarshal(vectorsJSON, &v); err != nil {
		return Vectors{}, err
	}
	if len(v.SM3) == 0 || len(v.SM4) == 0 || len(v.SM4GCM) == 0 || len(v.HMACSM3) == 0 || len(v.SM4CMAC) == 0 || len(v.SM2.PrivateKey) == 0 {
		return Vectors{}, errors.New("kat: vectors.json is missing a section")
	}
	return v, nil
}
