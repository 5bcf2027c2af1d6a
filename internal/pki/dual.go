package pki

import (
	"context"
	"crypto/ecdsa"
	"encoding/pem"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/storage"
)

// DualRequest asks for a GM/T 0015 certificate pair.
type DualRequest struct {
	// CSR is the subscriber's request for its signing key, as in
	// SignCSRRequest; its subject and names go into both certificates.
	CSR []byte
	// Profile, of usage Signing, issues the signing certificate; "" is
	// DefaultProfile.
	Profile string
	// EncryptionProfile, of usage Encryption, issues the encryption
	// certificate; "" is DefaultEncryptionProfile.
	EncryptionProfile string
	TTL               time.Duration
}

// Dual is a signing certificate, an encryption certificate and the
// encryption private key.
type Dual struct {
	Signing    Certificate
	Encryption Certificate
	// EnvelopedKey is the encryption private key wrapped to the signing
	// certificate's public key: a GB/T 35276 SM2EnvelopedKey (DER), which
	// the subscriber opens with its signing private key (gmsm's
	// sm2.ParseEnvelopedPrivateKey).
	EnvelopedKey []byte
}

// IssueDual issues dual certificates as GM/T 0015 has them: a signing
// certificate for the subscriber's own key (from a CSR) and an encryption
// certificate for a key pair the CA generates. The CA escrows that key as
// an exportable sm2 key of the tenant named "enc-<serial>", after the
// encryption certificate's serial (Encryption.EscrowKey), and returns it
// enveloped to the signing key. Each certificate names the other in Pair.
func (s *Service) IssueDual(ctx context.Context, tenant, ca string, req DualRequest) (_ Dual, err error) {
	csr, _, err := parseCSR(req.CSR)
	if err != nil {
		return Dual{}, err
	}
	now := s.clock()
	a, err := s.activeCA(ctx, tenant, ca, now)
	if err != nil {
		return Dual{}, err
	}
	if req.EncryptionProfile == "" {
		req.EncryptionProfile = DefaultEncryptionProfile
	}
	sans := sansOf(csr.DNSNames, csr.EmailAddresses, csr.IPAddresses, csr.URIs)
	sign := &issuance{ca: a, kind: DualSigning, subject: csr.RawSubject, sans: sans, pub: csr.PublicKey.(*ecdsa.PublicKey), ttl: req.TTL}
	enc := &issuance{ca: a, kind: DualEncryption, subject: csr.RawSubject, sans: sans, ttl: req.TTL}
	for _, h := range []struct {
		in    *issuance
		name  string
		usage Usage
	}{{sign, req.Profile, Signing}, {enc, req.EncryptionProfile, Encryption}} {
		if h.in.profile, err = s.loadProfile(ctx, tenant, ca, h.name); err != nil {
			return Dual{}, err
		}
		p := h.in.profile
		if p.Usage != h.usage || p.CA {
			return Dual{}, violation(p.Name, "usage", "the %s certificate of a pair needs an end-entity %s profile", h.usage, h.usage)
		}
		if err := h.in.check(csr.Subject.CommonName); err != nil {
			return Dual{}, err
		}
	}
	st, err := s.store.Backend()
	if err != nil {
		return Dual{}, err
	}
	// No lock across the escrow key's creation, the signatures and the
	// export: the serials are claimed by the final write's conditions.
	if sign.serial, err = s.newSerial(ctx, st, tenant); err != nil {
		return Dual{}, err
	}
	for enc.serial == nil || enc.serial.Cmp(sign.serial) == 0 {
		if enc.serial, err = s.newSerial(ctx, st, tenant); err != nil {
			return Dual{}, err
		}
	}
	sign.pair, enc.pair = serialString(enc.serial), serialString(sign.serial)
	enc.escrowKey = "enc-" + serialString(enc.serial)
	if _, err := s.keys.Create(ctx, tenant, kms.CreateRequest{
		Name: enc.escrowKey, Type: device.SM2, Exportable: true,
		Description: "escrowed encryption key of certificate " + serialString(enc.serial),
		Tags:        map[string]string{"pki-ca": ca, "pki-certificate": serialString(enc.serial)},
	}); err != nil {
		return Dual{}, err
	}
	defer s.discardKeyOnError(ctx, tenant, enc.escrowKey, &err)
	if enc.pub, err = s.publicKey(ctx, tenant, enc.escrowKey); err != nil {
		return Dual{}, err
	}
	var out Dual
	var ops []storage.Op
	for _, h := range []struct {
		in  *issuance
		out *Certificate
	}{{sign, &out.Signing}, {enc, &out.Encryption}} {
		c, o, err := s.issue(ctx, st, tenant, h.in, now)
		if err != nil {
			return Dual{}, err
		}
		*h.out, ops = *c, append(ops, o...)
	}
	wrapTo, err := smx509.MarshalPKIXPublicKey(sign.pub)
	if err != nil {
		return Dual{}, fault.Unexpected(err)
	}
	exported, err := s.keys.Export(ctx, tenant, enc.escrowKey, kms.ExportRequest{
		PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: wrapTo})),
	})
	if err != nil {
		return Dual{}, err
	}
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		if err := claimSerials(ctx, tx, tenant, sign.serial, enc.serial); err != nil {
			return err
		}
		return tx.Batch(ctx, ops)
	})
	if err != nil {
		return Dual{}, fault.Storage(err)
	}
	out.EnvelopedKey = exported.Wrapped
	return out, nil
}
