package cms

import (
	"math/big"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
)

// ocsp asks a CA of the tenant, in process, about a certificate it
// issued, and checks that the CA signed the answer.
func (vc *verifyContext) ocsp(ca tenantCA, cert *smx509.Certificate) (Revocation, error) {
	req, err := pki.NewOCSPRequest(cert, ca.cert, nil)
	if err != nil {
		return Revocation{}, fault.Unexpected(err)
	}
	resp, err := vc.s.ca.RespondOCSP(vc.ctx, vc.tenant, ca.name, req)
	if err != nil {
		return Revocation{}, err
	}
	r, err := ocspStatus(resp, ca.cert, cert.SerialNumber)
	if err != nil {
		return Revocation{}, fault.Unexpected(err)
	}
	return r, nil
}

// ocspStatus reads the status of serial from an OCSPResponse that issuer
// signed.
func ocspStatus(der []byte, issuer *smx509.Certificate, serial *big.Int) (Revocation, error) {
	st, err := pki.ParseOCSPResponse(der, issuer, serial)
	switch {
	case err != nil:
		return Revocation{}, err
	case st.Revoked:
		return Revocation{Status: Revoked, RevokedAt: st.RevokedAt, Reason: string(st.Reason), Source: SourceOCSP}, nil
	case st.Good:
		return Revocation{Status: Good, Source: SourceOCSP}, nil
	}
	return Revocation{Status: Unknown}, nil
}
