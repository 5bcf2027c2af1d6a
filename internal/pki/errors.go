package pki

import (
	"fmt"

	"github.com/mimacrypto/mima/internal/fault"
)

// errCANotFound is the same for an absent CA and another tenant's CA.
func errCANotFound(ca string) error {
	return fault.New(fault.CANotFound, "CA %q not found", ca)
}

func errCertNotFound(serial string) error {
	return fault.New(fault.CertificateNotFound, "certificate %s not found", serial)
}

// violation reports a request that breaks rule of profile p; the message
// names the rule.
func violation(p, rule, format string, args ...any) error {
	return fault.New(fault.ProfileViolation, "profile %q, rule %s: %s", p, rule, fmt.Sprintf(format, args...))
}
