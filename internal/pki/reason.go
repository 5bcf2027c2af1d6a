package pki

import (
	"slices"
	"strings"
)

// Reason is a CRL reason (RFC 5280 section 5.3.1), by its ASN.1 name.
type Reason string

// Revocation reasons. RemoveFromCRL is not among them: Release takes a
// certificate off hold, and a full CRL then simply no longer lists it.
const (
	Unspecified          Reason = "unspecified"
	KeyCompromise        Reason = "keyCompromise"
	CACompromise         Reason = "cACompromise"
	AffiliationChanged   Reason = "affiliationChanged"
	Superseded           Reason = "superseded"
	CessationOfOperation Reason = "cessationOfOperation"
	CertificateHold      Reason = "certificateHold"
	PrivilegeWithdrawn   Reason = "privilegeWithdrawn"
	AACompromise         Reason = "aACompromise"
)

// reasonCodes are the CRLReason values of the reasons.
var reasonCodes = map[Reason]int{
	Unspecified: 0, KeyCompromise: 1, CACompromise: 2, AffiliationChanged: 3, Superseded: 4,
	CessationOfOperation: 5, CertificateHold: 6, PrivilegeWithdrawn: 9, AACompromise: 10,
}

// code returns the CRLReason of r ("" is unspecified), or false.
func (r Reason) code() (int, bool) {
	if r == "" {
		return 0, true
	}
	c, ok := reasonCodes[r]
	return c, ok
}

// ReasonOf names a CRLReason code; unspecified (0) and codes that are
// not a revocation reason (8, removeFromCRL) are "".
func ReasonOf(code int) Reason {
	for r, c := range reasonCodes {
		if c == code && r != Unspecified {
			return r
		}
	}
	return ""
}

// reasonNames lists the reasons, for error messages.
func reasonNames() string {
	names := make([]string, 0, len(reasonCodes))
	for r := range reasonCodes {
		names = append(names, string(r))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
