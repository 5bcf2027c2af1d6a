// Package crlcheck refuses peer certificates that a CRL lists, for the
// TLCP server and gateway. CRLs come from files (DER or PEM, as mima's CA
// and OpenSSL write them), which are re-read when they change.
package crlcheck

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/filewatch"
	"github.com/mimacrypto/mima/tlcp"
)

// Checker holds the CRLs of a set of files.
type Checker struct {
	crls *filewatch.Value[[]*smx509.RevocationList]
	now  func() time.Time
}

// New loads the CRL files; a file that cannot be read or parsed is an
// error. Later, a file that turns bad keeps its last good CRLs in force.
func New(files ...string) (*Checker, error) {
	crls, err := filewatch.New(func() ([]*smx509.RevocationList, error) { return read(files) }, files...)
	if err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	return &Checker{crls: crls, now: time.Now}, nil
}

// read reads every file.
func read(files []string) ([]*smx509.RevocationList, error) {
	var crls []*smx509.RevocationList
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		list, err := parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		crls = append(crls, list...)
	}
	return crls, nil
}

// parse reads DER, or every X509 CRL block of PEM.
func parse(b []byte) ([]*smx509.RevocationList, error) {
	if !bytes.Contains(b, []byte("-----BEGIN")) {
		rl, err := smx509.ParseRevocationList(b)
		if err != nil {
			return nil, err
		}
		return []*smx509.RevocationList{rl}, nil
	}
	var out []*smx509.RevocationList
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "X509 CRL" {
			continue
		}
		rl, err := smx509.ParseRevocationList(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, rl)
	}
	if len(out) == 0 {
		return nil, errors.New("no X509 CRL block")
	}
	return out, nil
}

// Verify is a tlcp.Config.VerifyPeerCertificate hook: it refuses a peer
// whose signing or encryption certificate is listed by a CRL of the
// signing certificate's issuer, and one whose issuer's CRL has expired
// (fail closed). Certificates whose issuer has no CRL here pass.
func (c *Checker) Verify(raw [][]byte, chains [][]*smx509.Certificate) error {
	if len(chains) == 0 || len(chains[0]) < 2 {
		return nil
	}
	issuer := chains[0][1]
	now := c.now()
	var serials []*big.Int
	for _, der := range raw[:min(2, len(raw))] {
		if cert, err := smx509.ParseCertificate(der); err == nil && bytes.Equal(cert.RawIssuer, issuer.RawSubject) {
			serials = append(serials, cert.SerialNumber)
		}
	}
	for _, rl := range c.crls.Get() {
		if !bytes.Equal(rl.RawIssuer, issuer.RawSubject) || rl.CheckSignatureFrom(issuer) != nil {
			continue
		}
		if !rl.NextUpdate.IsZero() && now.After(rl.NextUpdate) {
			return fmt.Errorf("the CRL of %s expired at %s", issuer.Subject, rl.NextUpdate.Format(time.RFC3339))
		}
		for _, e := range rl.RevokedCertificateEntries {
			for _, s := range serials {
				if e.SerialNumber.Cmp(s) == 0 {
					return fmt.Errorf("serial %x: %w", s, tlcp.ErrCertificateRevoked)
				}
			}
		}
	}
	return nil
}
