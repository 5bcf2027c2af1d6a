package kms

import (
	"errors"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// errDecrypt is the only answer to a ciphertext that does not decrypt,
// whatever the reason: it must not help an attacker.
var errDecrypt = fault.New(fault.DecryptFailed, "the ciphertext could not be decrypted")

// errKeyNotFound is the same for an absent key and another tenant's key.
func errKeyNotFound(ref string) error {
	return fault.New(fault.KeyNotFound, "key %q not found", ref)
}

// deviceErr reports a failure of the device or of the random source: not
// the caller's fault, and without detail. A busy or unavailable device is
// worth a retry and says so; a device that lost a key is the operator's
// problem.
func deviceErr(err error) error {
	switch {
	case errors.Is(err, device.ErrBusy):
		return fault.Wrap(err, fault.DeviceBusy, "the key device is busy; retry")
	case errors.Is(err, device.ErrUnavailable):
		return fault.Wrap(err, fault.DeviceUnavailable, "the key device is unavailable; retry")
	case errors.Is(err, device.ErrKeyNotFound):
		return fault.Wrap(err, fault.Internal, "the key device does not hold the key")
	}
	return fault.Wrap(err, fault.Internal, "the key device failed")
}

func keyVersionTooOld(ref string, v, minimum int) error {
	return fault.New(fault.KeyVersionTooOld, "version %d of key %q is below its minimum decryption version %d", v, ref, minimum)
}

func typeMismatch(ref string, t device.KeyType, op string) error {
	return fault.New(fault.KeyTypeMismatch, "key %q of type %s does not support %s", ref, t, op)
}
