package cms

import (
	"bytes"
	"encoding/pem"
	"errors"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// parseCertificate parses a certificate the CA stored.
func parseCertificate(der []byte) (*smx509.Certificate, error) {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return c, nil
}

// parseCertificatePEM reads a caller's certificate: one PEM block
// "CERTIFICATE" holding an SM2 certificate.
func parseCertificatePEM(s string) (*smx509.Certificate, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) > 0 {
		return nil, fault.New(fault.CertificateInvalid, `a certificate must be one PEM block "CERTIFICATE"`)
	}
	c, err := smx509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fault.Wrap(err, fault.CertificateInvalid, "the certificate does not parse as X.509")
	}
	if !sm2.IsSM2PublicKey(c.PublicKey) {
		return nil, fault.New(fault.NotSM2, "the certificate of %s does not hold an SM2 key (curve 1.2.156.10197.1.301)", c.Subject)
	}
	return c, nil
}

// parseCertificatesPEM reads concatenated PEM blocks "CERTIFICATE", at
// least one, and nothing else.
func parseCertificatesPEM(s string) ([]*smx509.Certificate, error) {
	var out []*smx509.Certificate
	rest := []byte(s)
	for len(bytes.TrimSpace(rest)) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, errors.New(`cms: expected PEM blocks "CERTIFICATE" only`)
		}
		c, err := smx509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("cms: no PEM certificate")
	}
	return out, nil
}
