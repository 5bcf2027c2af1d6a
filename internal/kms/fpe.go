package kms

import (
	"context"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/sdk/fieldcrypt"
	"github.com/mimacrypto/mima/sdk/fieldcrypt/ff1"
)

// FPERequest is one format-preserving encryption or decryption (FF1 of
// NIST SP 800-38G with SM4) of Input, a string over Alphabet (at most
// 65,536 distinct characters; its length is the radix), under Tweak.
type FPERequest struct {
	Alphabet string
	Input    string
	Tweak    []byte
	// Version of the key; 0 for the latest. The output does not say which
	// version made it, so a caller keeps it (FPEResult.Version).
	Version int
}

// FPEResult is the output, of the same length over the same alphabet.
type FPEResult struct {
	Output  string
	Version int
}

// fpeDerivation names the FF1 key of a key version: the key that Derive
// gives for device fieldcrypt.FieldDevice and business "fpe", so that
// sdk/fieldcrypt, which fetches it from the derive endpoint, computes the
// same values locally.
var fpeDerivation = Derivation{DeviceID: fieldcrypt.FieldDevice, Business: string(fieldcrypt.FPE)}

// FPE encrypts (or, with decrypt, decrypts) req.Input with FF1 under a
// key derived from an sm4 key. The key must let derived keys out of its
// device (device.Extractable): FF1 runs here, over the SM4 block cipher.
func (s *Service) FPE(ctx context.Context, tenant, key string, req FPERequest, decrypt bool) (FPEResult, error) {
	e, err := s.use(ctx, tenant, key, tSM4, "format-preserving encryption")
	if err != nil {
		return FPEResult{}, err
	}
	alphabet := req.Alphabet
	if alphabet == "" {
		alphabet = ff1.Digits
	}
	a, err := ff1.NewAlphabet(alphabet)
	if err != nil {
		return FPEResult{}, fault.Invalid("%v", err)
	}
	v, err := e.encryptVersion(key, req.Version)
	if decrypt {
		v, err = e.verifyVersion(key, req.Version)
	}
	if err != nil {
		return FPEResult{}, err
	}
	c, err := s.fpeCipher(ctx, e, v, a.Radix())
	if err != nil {
		return FPEResult{}, err
	}
	run := ff1.EncryptString
	if decrypt {
		run = ff1.DecryptString
	}
	out, err := run(c, a, req.Tweak, req.Input)
	switch {
	case errors.Is(err, ff1.ErrNotInAlphabet):
		return FPEResult{}, fault.Invalid("the input has a character outside the alphabet")
	case errors.Is(err, ff1.ErrLength):
		return FPEResult{}, fault.Invalid("the input must have %d to %d characters for an alphabet of %d", c.MinLen(), ff1.MaxLen, a.Radix())
	case err != nil:
		return FPEResult{}, fault.Wrap(err, fault.InvalidArgument, "%v", err)
	}
	return FPEResult{Output: out, Version: v}, nil
}

// fpeCipher returns FF1 with SM4 under the FPE key of version v of e.
func (s *Service) fpeCipher(ctx context.Context, e *entry, v, radix int) (*ff1.Cipher, error) {
	k, err := deriveFrom(ctx, e.versions[v-1], v, &fpeDerivation)
	if err != nil {
		return nil, err
	}
	ex, ok := k.(device.Extractable)
	if !ok {
		return nil, deviceErr(fmt.Errorf("kms: %w: the device keeps derived keys in, and FF1 needs one out", device.ErrNotSupported))
	}
	raw, err := ex.Extract(ctx)
	if err != nil {
		return nil, deviceErr(err)
	}
	defer clear(raw)
	block, err := sm4.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	return ff1.New(block, radix)
}
