package pki

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// maxInput bounds a CSR or certificate given by a caller.
const maxInput = 64 << 10

// SignCSRRequest asks a CA to certify the key of a certificate request.
type SignCSRRequest struct {
	// CSR is a PKCS#10 request, DER or PEM ("CERTIFICATE REQUEST"), for
	// an SM2 key and signed by it with SM2/SM3 under the default
	// identity "1234567812345678". Its subject and subject alternative
	// names go into the certificate; its requested extensions do not: the
	// profile decides them.
	CSR []byte
	// Profile is the profile to issue under; "" is DefaultProfile.
	Profile string
	// TTL is the validity; 0 is the profile's default.
	TTL time.Duration
}

// SignCSR issues a certificate for the key of a CSR. A request that does
// not parse or whose signature does not verify is csr_invalid; a key that
// is not SM2 is not_sm2.
func (s *Service) SignCSR(ctx context.Context, tenant, ca string, req SignCSRRequest) (Certificate, error) {
	csr, err := parseCSR(req.CSR)
	if err != nil {
		return Certificate{}, err
	}
	return s.issueOne(ctx, tenant, ca, req.Profile, csr.Subject.CommonName, &issuance{
		kind: FromCSR, subject: csr.RawSubject, pub: csr.PublicKey.(*ecdsa.PublicKey), ttl: req.TTL,
		sans: sansOf(csr.DNSNames, csr.EmailAddresses, csr.IPAddresses, csr.URIs),
	})
}

// parseCSR reads a CSR (DER or PEM) for an SM2 key and checks its
// signature.
func parseCSR(in []byte) (*smx509.CertificateRequest, error) {
	der, err := derOf(in, "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
	if err != nil {
		return nil, fault.New(fault.CSRInvalid, "the CSR %v", err)
	}
	csr, err := smx509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fault.Wrap(err, fault.CSRInvalid, "the CSR does not parse as PKCS#10")
	}
	if !sm2.IsSM2PublicKey(csr.PublicKey) {
		return nil, fault.New(fault.NotSM2, "the CSR's key is %s; this CA certifies SM2 keys only (curve 1.2.156.10197.1.301)", device.DescribeKey(csr.PublicKey))
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fault.Wrap(err, fault.CSRInvalid, "the CSR's signature does not verify with its SM2 key (SM2 with SM3, identity 1234567812345678)")
	}
	return csr, nil
}

// derOf returns the DER of an input given as DER or as one PEM block of
// one of types; the error completes a sentence about the input.
func derOf(in []byte, types ...string) ([]byte, error) {
	if len(in) > maxInput {
		return nil, fmt.Errorf("is longer than %d bytes", maxInput)
	}
	t := bytes.TrimSpace(in)
	if !bytes.HasPrefix(t, []byte("-----BEGIN")) {
		if len(t) == 0 {
			return nil, errors.New("is empty")
		}
		return in, nil
	}
	block, rest := pem.Decode(t)
	if block == nil || len(bytes.TrimSpace(rest)) > 0 || !slices.Contains(types, block.Type) {
		return nil, fmt.Errorf("must be DER or one PEM block %q", types[0])
	}
	return block.Bytes, nil
}
