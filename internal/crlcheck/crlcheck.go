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
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/tlcp"
)

// recheck is how often the files' modification times are looked at.
const recheck = 10 * time.Second

// Checker holds the CRLs of a set of files.
type Checker struct {
	files []string
	now   func() time.Time

	mu      sync.Mutex
	crls    []*smx509.RevocationList
	mtimes  map[string]time.Time
	checked time.Time
}

// New loads the CRL files; a file that cannot be read or parsed is an
// error.
func New(files ...string) (*Checker, error) {
	c := &Checker{files: files, now: time.Now}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// load reads every file.
func (c *Checker) load() error {
	var crls []*smx509.RevocationList
	mtimes := map[string]time.Time{}
	for _, f := range c.files {
		info, err := os.Stat(f)
		if err != nil {
			return fmt.Errorf("crl: %w", err)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("crl: %w", err)
		}
		list, err := parse(b)
		if err != nil {
			return fmt.Errorf("crl: %s: %w", f, err)
		}
		crls = append(crls, list...)
		mtimes[f] = info.ModTime()
	}
	c.crls, c.mtimes, c.checked = crls, mtimes, c.now()
	return nil
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

// current returns the CRLs, re-reading the files when one changed. A file
// that turns bad keeps its last good CRLs in force.
func (c *Checker) current() []*smx509.RevocationList {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Sub(c.checked) < recheck {
		return c.crls
	}
	c.checked = c.now()
	for _, f := range c.files {
		if info, err := os.Stat(f); err == nil && !info.ModTime().Equal(c.mtimes[f]) {
			_ = c.load() // changes nothing when it fails
			break
		}
	}
	return c.crls
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
	for _, rl := range c.current() {
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
