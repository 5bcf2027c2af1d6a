package cms

import (
	"github.com/mimacrypto/mima/internal/fault"
)

// malformed reports input that is not the CMS or RFC 3161 structure
// expected; what completes "the input ...".
func malformed(err error, what string) error {
	return fault.Wrap(err, fault.CMSMalformed, "the input %s", what)
}
