package cms

import (
	"github.com/mimacrypto/mima/internal/fault"
)

var errSealed = fault.New(fault.Sealed, "mima is sealed")

func invalid(format string, args ...any) error {
	return fault.New(fault.InvalidArgument, format, args...)
}

// malformed reports input that is not the CMS or RFC 3161 structure
// expected; what completes "the input ...".
func malformed(err error, what string) error {
	return fault.Wrap(err, fault.CMSMalformed, "the input %s", what)
}

// storageErr passes on errors that already carry a code (the barrier's
// "sealed") and marks others as a storage failure.
func storageErr(err error) error {
	if _, ok := fault.As(err); ok {
		return err
	}
	return fault.Wrap(err, fault.StorageFailure, "the CMS record store is unavailable")
}

// internalErr reports a failure that is not the caller's: encoding,
// randomness, a corrupt record. Errors that carry a code pass.
func internalErr(err error) error {
	if _, ok := fault.As(err); ok {
		return err
	}
	return fault.Wrap(err, fault.Internal, "the CMS service failed")
}
