package ee

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/atomicfile"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

// State is everything a device keeps: identity, trust anchors, keys and
// certificates. It holds private keys: keep it like one.
type State struct {
	// Deployment names the SCMS deployment the device belongs to.
	Deployment string `json:"deployment,omitempty"`
	ID         string `json:"id"`
	Kind       string `json:"kind"`     // vehicle or roadside
	RootPin    string `json:"root_pin"` // HashedId8 (hex) of the trusted root
	// TrustList and CRL are the latest verified downloads (COER).
	TrustList []byte `json:"trust_list,omitempty"`
	CRL       []byte `json:"crl,omitempty"`
	// EnrolKey is the enrolment signing key (32-byte SM2 scalar);
	// Enrolment its certificate (COER).
	EnrolKey   []byte      `json:"enrol_key"`
	Enrolment  []byte      `json:"enrolment,omitempty"`
	Requests   []Request   `json:"requests,omitempty"`
	Pseudonyms []Pseudonym `json:"pseudonyms,omitempty"`
	App        *AppCert    `json:"app,omitempty"`
}

// Request is a pseudonym request: its caterpillar keys and expansion
// keys, from which every (i, j) private key follows.
type Request struct {
	Hash       string   `json:"hash"` // HashedId8 (hex), as the RA acknowledged
	First      uint16   `json:"first"`
	SignKey    []byte   `json:"sign_key"` // caterpillar signing scalar a
	EncKey     []byte   `json:"enc_key"`  // caterpillar encryption scalar h
	SignExp    []byte   `json:"sign_exp"` // SM4 expansion keys
	EncExp     []byte   `json:"enc_exp"`
	Downloaded []uint16 `json:"downloaded,omitempty"`
}

// Pseudonym is a pseudonym certificate and its reconstructed private key.
type Pseudonym struct {
	Period uint16 `json:"period"`
	J      int    `json:"j"`
	Cert   []byte `json:"cert"` // COER
	Key    []byte `json:"key"`  // SM2 scalar
}

// AppCert is a roadside unit's application certificate and keys.
type AppCert struct {
	Request string `json:"request"` // HashedId8 (hex) of the request
	Cert    []byte `json:"cert,omitempty"`
	Key     []byte `json:"key"`
	EncKey  []byte `json:"enc_key"`
}

// NewState makes the state of a new device: its id (the canonical id the
// ECA's allow-list knows), kind, the root it trusts, and a fresh
// enrolment key.
func NewState(rand io.Reader, id, kind string, rootPin ieee1609.HashedId8) (*State, error) {
	k, err := sm2.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	return &State{ID: id, Kind: kind, RootPin: hex.EncodeToString(rootPin[:]), EnrolKey: k.D.FillBytes(make([]byte, 32))}, nil
}

// LoadState reads a state file.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// Save writes the state file atomically with mode 0600.
func (s *State) Save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}

// privateKey reads a stored SM2 scalar.
func privateKey(b []byte) (*sm2.PrivateKey, error) {
	return sm2.NewPrivateKey(b)
}

// decodeHex fills dst from hex text, leaving it zero on bad input.
func decodeHex(dst []byte, s string) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == len(dst) {
		copy(dst, b)
	}
}
