package pki

import (
	"fmt"

	"github.com/mimacrypto/mima/internal/fault"
)

var errSealed = fault.New(fault.Sealed, "mima is sealed")

// errCANotFound is the same for an absent CA and another tenant's CA.
func errCANotFound(ca string) error {
	return fault.New(fault.CANotFound, "CA %q not found", ca)
}

func errCertNotFound(serial string) error {
	return fault.New(fault.CertificateNotFound, "certificate %s not found", serial)
}

func invalid(format string, args ...any) error {
	return fault.New(fault.InvalidArgument, format, args...)
}

// violation reports a request that breaks rule of profile p; the message
// names the rule.
func violation(p, rule, format string, args ...any) error {
	return fault.New(fault.ProfileViolation, "profile %q, rule %s: %s", p, rule, fmt.Sprintf(format, args...))
}

// storageErr passes on errors that already carry a code (the barrier's
// "sealed") and marks others as a storage failure.
func storageErr(err error) error {
	if _, ok := fault.As(err); ok {
		return err
	}
	return fault.Wrap(err, fault.StorageFailure, "the certificate store is unavailable")
}

// internalErr reports a failure that is not the caller's: signing,
// encoding, randomness. Errors that carry a code (the key service's) pass.
func internalErr(err error) error {
	if _, ok := fault.As(err); ok {
		return err
	}
	return fault.Wrap(err, fault.Internal, "the certificate authority failed")
}
