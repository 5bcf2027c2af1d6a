package cms

import (
	"bytes"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
)

// removeFromCRL is the CRLReason of a delta CRL entry that takes a
// certificate off hold: not a revocation.
const removeFromCRL = 8

// revocation returns the revocation status of the first certificate of a
// verified chain, from the CRLs the caller gave for its issuer and from
// the issuing CA's CRL (or OCSP answer) when a CA of the tenant issued
// it. A revocation from any source wins, the earliest if several; else
// good if a source covers the certificate; else unknown. A certificate
// that is itself a trust anchor has no issuer to ask.
func (vc *verifyContext) revocation(chain []*smx509.Certificate) (Revocation, error) {
	if len(chain) < 2 {
		return Revocation{Status: Unknown}, nil
	}
	cert, issuer := chain[0], chain[1]
	var found []Revocation
	for _, crl := range vc.crls {
		if bytes.Equal(crl.RawIssuer, issuer.RawSubject) && crl.CheckSignatureFrom(issuer) == nil {
			found = append(found, crlStatus(crl, cert.SerialNumber, SourceSuppliedCRL))
		}
	}
	for _, ca := range vc.cas {
		if !bytes.Equal(ca.cert.Raw, issuer.Raw) {
			continue
		}
		r, err := vc.fromCA(ca, cert)
		if err != nil {
			return Revocation{}, err
		}
		found = append(found, r)
	}
	return combine(found), nil
}

// combine merges what several sources say.
func combine(found []Revocation) Revocation {
	out := Revocation{Status: Unknown}
	for _, r := range found {
		switch {
		case r.Status == Revoked && (out.Status != Revoked || r.RevokedAt.Before(out.RevokedAt)):
			out = r
		case r.Status == Good && out.Status == Unknown:
			out = r
		}
	}
	return out
}

// fromCA asks a CA of the tenant about a certificate it issued: its CRL,
// or its OCSP responder with UseOCSP.
func (vc *verifyContext) fromCA(ca tenantCA, cert *smx509.Certificate) (Revocation, error) {
	if vc.useOCSP {
		return vc.ocsp(ca, cert)
	}
	crl, ok := vc.caCRLs[ca.name]
	if !ok {
		der, err := vc.s.ca.CRL(vc.ctx, vc.tenant, ca.name)
		if err != nil {
			return Revocation{}, err
		}
		if crl, err = smx509.ParseRevocationList(der); err != nil {
			return Revocation{}, fault.Unexpected(err)
		}
		if err := crl.CheckSignatureFrom(ca.cert); err != nil {
			return Revocation{}, fault.Unexpected(err)
		}
		vc.caCRLs[ca.name] = crl
	}
	return crlStatus(crl, cert.SerialNumber, SourceCRL), nil
}

// crlStatus looks a serial number up in a CRL.
func crlStatus(crl *smx509.RevocationList, serial *big.Int, source string) Revocation {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 && e.ReasonCode != removeFromCRL {
			return revoked(e.RevocationTime, e.ReasonCode, source)
		}
	}
	return Revocation{Status: Good, Source: source}
}

func revoked(at time.Time, code int, source string) Revocation {
	return Revocation{Status: Revoked, RevokedAt: at.UTC(), Reason: string(pki.ReasonOf(code)), Source: source}
}
