package pki

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/pem"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// maxChain bounds the certificates of a chain given at installation.
const maxChain = 10

// parseCertificate reads one certificate, DER or PEM.
func parseCertificate(in []byte) (*smx509.Certificate, error) {
	der, err := derOf(in, "CERTIFICATE")
	if err != nil {
		return nil, fault.New(fault.CertificateInvalid, "the certificate %v", err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fault.Wrap(err, fault.CertificateInvalid, "the certificate does not parse as X.509")
	}
	return cert, nil
}

// parseChain reads a chain: concatenated PEM blocks "CERTIFICATE", none
// or more.
func parseChain(in []byte) ([]*smx509.Certificate, error) {
	var chain []*smx509.Certificate
	rest := bytes.TrimSpace(in)
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil || block.Type != "CERTIFICATE" || len(chain) == maxChain {
			return nil, fault.New(fault.CertificateInvalid, "the chain must be at most %d PEM blocks \"CERTIFICATE\"", maxChain)
		}
		cert, err := smx509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fault.Wrap(err, fault.CertificateInvalid, "certificate %d of the chain does not parse as X.509", len(chain)+1)
		}
		chain = append(chain, cert)
		rest = bytes.TrimSpace(rest)
	}
	return chain, nil
}

// checkCACert checks a certificate for a CA whose key has public key pub
// (nil: not known yet): an SM2 key that is pub, a CA (basic constraints) that may sign
// certificates and CRLs, with a subject key identifier, valid at now, and
// signed by the first certificate of chain, each of which is signed by
// the next (the last, if self-signed, by itself).
func checkCACert(cert *smx509.Certificate, chain []*smx509.Certificate, pub *ecdsa.PublicKey, now time.Time) error {
	bad := func(format string, args ...any) error { return fault.New(fault.CertificateInvalid, format, args...) }
	switch {
	case !sm2.IsSM2PublicKey(cert.PublicKey):
		return fault.New(fault.NotSM2, "the certificate's key is %s; a CA here has an SM2 key", device.DescribeKey(cert.PublicKey))
	case pub != nil && !pub.Equal(cert.PublicKey):
		return bad("the certificate is not for the CA's key")
	case !cert.BasicConstraintsValid || !cert.IsCA:
		return bad("the certificate is not a CA certificate (basic constraints cA)")
	case cert.KeyUsage&smx509.KeyUsageCertSign == 0 || cert.KeyUsage&smx509.KeyUsageCRLSign == 0:
		return bad("the certificate's key usage must include keyCertSign and cRLSign")
	case len(cert.SubjectKeyId) == 0:
		return bad("the certificate has no subject key identifier")
	case now.After(cert.NotAfter) || now.Before(cert.NotBefore):
		return fault.New(fault.CAExpired, "the certificate is valid only from %s to %s", cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	for i, c := range chain {
		child := cert
		if i > 0 {
			child = chain[i-1]
		}
		if err := child.CheckSignatureFrom(c); err != nil {
			return fault.Wrap(err, fault.CertificateInvalid, "certificate %d of the chain did not sign the one before it", i+1)
		}
	}
	if n := len(chain); n > 0 && bytes.Equal(chain[n-1].RawSubject, chain[n-1].RawIssuer) {
		if err := chain[n-1].CheckSignatureFrom(chain[n-1]); err != nil {
			return fault.Wrap(err, fault.CertificateInvalid, "the chain's root does not verify its own signature")
		}
	}
	return nil
}

// rawChain returns the DER of each certificate of chain.
func rawChain(chain []*smx509.Certificate) [][]byte {
	out := make([][]byte, len(chain))
	for i, c := range chain {
		out[i] = c.Raw
	}
	return out
}
