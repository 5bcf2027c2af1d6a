package pki

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// CertState is the state of an issued certificate.
type CertState string

// Certificate states. Expired is never stored: a valid certificate past
// its notAfter is reported as expired.
const (
	Valid   CertState = "valid"
	Revoked CertState = "revoked"
	OnHold  CertState = "on_hold"
	Expired CertState = "expired"
)

// Kind tells how a certificate was issued.
type Kind string

// Certificate kinds.
const (
	// FromCSR certifies the key of a certificate request (SignCSR).
	FromCSR Kind = "csr"
	// ForKey certifies an sm2 key of the key service (Issue).
	ForKey Kind = "key"
	// Generated certifies a key pair the CA generated and returned
	// (IssueKeyPair).
	Generated Kind = "generated"
	// DualSigning and DualEncryption are the two halves of IssueDual.
	DualSigning    Kind = "dual_signing"
	DualEncryption Kind = "dual_encryption"
	// CACert is the certificate of a CA of the tenant (CreateRoot,
	// CreateIntermediate).
	CACert Kind = "ca"
)

// Certificate is an issued certificate and its state. It is also the
// stored form, at t/<tenant>/pki/certs/<serial>, in JSON.
type Certificate struct {
	// Serial is the serial number, 32 lower-case hex digits.
	Serial  string `json:"serial"`
	CA      string `json:"ca"`
	Profile string `json:"profile,omitempty"`
	Kind    Kind   `json:"kind"`
	// DER is the certificate; see PEM.
	DER []byte `json:"der"`
	// Subject is the subject distinguished name (RFC 2253 form).
	Subject   string    `json:"subject"`
	SANs      SANs      `json:"sans"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	State     CertState `json:"state"`
	// RevokedAt and Reason are set while revoked or on hold.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Reason    Reason    `json:"reason,omitempty"`
	// Key and KeyVersion name the key service key (and version) that a
	// ForKey certificate certifies.
	Key        string `json:"key,omitempty"`
	KeyVersion int    `json:"key_version,omitempty"`
	// EscrowKey names the key service key holding the private key of a
	// DualEncryption certificate.
	EscrowKey string `json:"escrow_key,omitempty"`
	// Pair is the serial of the other half of a dual certificate.
	Pair string `json:"pair,omitempty"`
	// RenewedFrom is the serial of the certificate this one renews.
	RenewedFrom string    `json:"renewed_from,omitempty"`
	IssuedAt    time.Time `json:"issued_at"`
	// CSRIdentity is set in the answer of SignCSR only: the identity the
	// CSR's signature verified under, CSRIdentityDefault or
	// CSRIdentityEmpty.
	CSRIdentity string `json:"csr_identity,omitempty"`
}

// PEM returns the certificate as a PEM block "CERTIFICATE".
func (c Certificate) PEM() string { return pemCert(c.DER) }

func pemCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// at returns c as reported at now: expired once past notAfter.
func (c Certificate) at(now time.Time) Certificate {
	if c.State == Valid && !now.Before(c.NotAfter) {
		c.State = Expired
	}
	return c
}

// GetCertificate returns an issued certificate by serial number (hex, as
// parseSerial accepts).
func (s *Service) GetCertificate(ctx context.Context, tenant, serial string) (Certificate, error) {
	if err := checkTenant(tenant); err != nil {
		return Certificate{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return Certificate{}, err
	}
	sn, err := parseSerial(serial)
	if err != nil {
		return Certificate{}, err
	}
	c, err := readCert(ctx, st, tenant, sn)
	if err != nil {
		return Certificate{}, err
	}
	return c.at(s.clock()), nil
}

// readCert reads a certificate record; an absent one is
// certificate_not_found.
func readCert(ctx context.Context, st storage.Backend, tenant, serial string) (*Certificate, error) {
	b, err := st.Get(ctx, certPath(tenant, serial))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errCertNotFound(serial)
	}
	if err != nil {
		return nil, fault.Storage(err)
	}
	var c Certificate
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("pki: certificate record %s/%s is corrupt: %w", tenant, serial, err)
	}
	return &c, nil
}

// certOp returns the op that stores c.
func certOp(tenant string, c *Certificate) (storage.Op, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return storage.Op{}, fmt.Errorf("pki: encoding certificate record: %w", err)
	}
	return storage.Op{Key: certPath(tenant, c.Serial), Value: b}, nil
}

// newCertOps returns the ops that store a newly issued certificate with
// its expiry index entry and, for a ForKey certificate, the key's mapping.
func newCertOps(tenant string, c *Certificate) ([]storage.Op, error) {
	op, err := certOp(tenant, c)
	if err != nil {
		return nil, err
	}
	ops := []storage.Op{op, {Key: expiryPath(tenant, c.NotAfter, c.Serial), Value: []byte{}}}
	if c.Kind == ForKey {
		ops = append(ops, storage.Op{Key: keyCertPath(tenant, c.Key), Value: []byte(c.Serial)})
	}
	return ops, nil
}
