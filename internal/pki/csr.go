package pki

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
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
	// identity "1234567812345678" or the empty identity (what OpenSSL 3
	// signs with unless told -sigopt distid:...). Its subject and subject alternative
	// names go into the certificate; its requested extensions do not: the
	// profile decides them.
	CSR []byte
	// Profile is the profile to issue under; "" is DefaultProfile.
	Profile string
	// TTL is the validity; 0 is the profile's default.
	TTL time.Duration
}

// The identities a CSR's proof of possession may be signed under
// (Certificate.CSRIdentity).
const (
	// CSRIdentityDefault is the identity 1234567812345678 of GM/T 0009.
	CSRIdentityDefault = "default"
	// CSRIdentityEmpty is the empty identity, which OpenSSL 3 uses for
	// SM2 signatures unless given -sigopt distid:....
	CSRIdentityEmpty = "empty"
)

// SignCSR issues a certificate for the key of a CSR. A request that does
// not parse or whose signature does not verify is csr_invalid; a key that
// is not SM2 is not_sm2. The answer's CSRIdentity says which identity the
// CSR's signature verified under.
func (s *Service) SignCSR(ctx context.Context, tenant, ca string, req SignCSRRequest) (Certificate, error) {
	csr, identity, err := parseCSR(req.CSR)
	if err != nil {
		return Certificate{}, err
	}
	c, err := s.issueOne(ctx, tenant, ca, req.Profile, csr.Subject.CommonName, &issuance{
		kind: FromCSR, subject: csr.RawSubject, pub: csr.PublicKey.(*ecdsa.PublicKey), ttl: req.TTL,
		sans: sansOf(csr.DNSNames, csr.EmailAddresses, csr.IPAddresses, csr.URIs),
	})
	if err != nil {
		return Certificate{}, err
	}
	c.CSRIdentity = identity
	return c, nil
}

// parseCSR reads a CSR (DER or PEM) for an SM2 key and checks its
// signature, under the default identity or the empty one, which it
// returns (CSRIdentityDefault or CSRIdentityEmpty).
func parseCSR(in []byte) (*smx509.CertificateRequest, string, error) {
	der, err := derOf(in, "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
	if err != nil {
		return nil, "", fault.New(fault.CSRInvalid, "the CSR %v", err)
	}
	csr, err := smx509.ParseCertificateRequest(der)
	if err != nil {
		return nil, "", fault.Wrap(err, fault.CSRInvalid, "the CSR does not parse as PKCS#10")
	}
	if !sm2.IsSM2PublicKey(csr.PublicKey) {
		return nil, "", fault.New(fault.NotSM2, "the CSR's key is %s; this CA certifies SM2 keys only (curve 1.2.156.10197.1.301)", device.DescribeKey(csr.PublicKey))
	}
	err = csr.CheckSignature()
	if err == nil {
		return csr, CSRIdentityDefault, nil
	}
	if csr.SignatureAlgorithm == smx509.SM2WithSM3 && verifyEmptyID(csr.PublicKey.(*ecdsa.PublicKey), csr.RawTBSCertificateRequest, csr.Signature) {
		return csr, CSRIdentityEmpty, nil
	}
	return nil, "", fault.Wrap(err, fault.CSRInvalid, "the CSR's signature does not verify with its SM2 key (SM2 with SM3) under the identity 1234567812345678 or the empty one; "+
		"with OpenSSL 3 sign it with: openssl req -new -key KEY.pem -sm3 -sigopt distid:1234567812345678 ...")
}

// verifyEmptyID checks an SM2 signature over msg under the empty
// identity: e = SM3(Z_A || msg) with Z_A = SM3(ENTL=0 || a || b || x_G ||
// y_G || x_A || y_A) (GB/T 32918.2-2016 section 5.5). gmsm replaces an
// empty identity with the default one, so Z_A is computed here.
func verifyEmptyID(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	point, err := sm2.PublicKeyToECDH(pub)
	if err != nil {
		return false
	}
	p := pub.Curve.Params()
	a := new(big.Int).Sub(p.P, big.NewInt(3))
	h := sm3.New()
	h.Write([]byte{0, 0}) // ENTL: an identity of 0 bits
	for _, v := range []*big.Int{a, p.B, p.Gx, p.Gy} {
		h.Write(v.FillBytes(make([]byte, 32)))
	}
	h.Write(point.Bytes()[1:]) // x_A || y_A, after the 0x04 of the uncompressed form
	e := sm3.New()
	e.Write(h.Sum(nil))
	e.Write(msg)
	return sm2.VerifyASN1(pub, e.Sum(nil), sig)
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
