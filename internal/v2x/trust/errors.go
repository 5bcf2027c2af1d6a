// Package trust decides whether IEEE 1609.2 certificates and signed data
// are to be believed (IEEE 1609.2-2022 5.2): chains to trusted root
// certificates, signatures, validity periods, geographic regions,
// application permissions and revocation by hash-based and
// linkage-based CRLs (5.1.3).
package trust

import (
	"errors"
	"fmt"
)

// Code is a stable reason why something was refused.
type Code string

// The reasons, as devices and the API report them.
const (
	Malformed      Code = "malformed"            // not a well-formed signed SPDU or certificate
	UnknownIssuer  Code = "unknown_issuer"       // the chain does not reach a trusted root
	BadSignature   Code = "bad_signature"        // a signature does not verify
	NotYetValid    Code = "not_yet_valid"        // before a certificate's validity period
	Expired        Code = "expired"              // after a certificate's validity period, or an SPDU too old
	Revoked        Code = "revoked"              // listed by a CRL
	NotPermitted   Code = "not_permitted"        // the PSID, or issuing, is not in the permissions
	OutsideRegion  Code = "outside_region"       // the region or location is not covered
	ImplicitCert   Code = "implicit_certificate" // the profile takes explicit certificates only
	UnsupportedAlg Code = "unsupported_algorithm"
)

// Error is a refusal with its reason.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Msg }

func fail(code Code, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the reason of err, or "" when err is not a refusal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
