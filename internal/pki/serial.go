package pki

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// serialString formats a serial number as in storage paths.
func serialString(n *big.Int) string { return fmt.Sprintf("%032x", n) }

// parseSerial reads a serial number given by a caller: hex digits, upper
// or lower case, optionally with ':' separators (as OpenSSL prints them)
// or a "0x" prefix. It returns the storage form.
func parseSerial(s string) (string, error) {
	h := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"), ":", ""))
	n, ok := new(big.Int).SetString(h, 16)
	if h == "" || !ok || n.Sign() <= 0 || n.BitLen() > 8*serialBytes {
		return "", fault.Invalid("serial number %q is not a certificate serial of this service: use up to 32 hex digits", s)
	}
	return serialString(n), nil
}

// serialBytes is the size of a serial number: 128 random bits.
const serialBytes = 16

// newSerial returns a random serial number that no certificate of the
// tenant has. In a transaction (storage.Atomic) its absence is the
// condition that nothing took it before it is stored.
func (s *Service) newSerial(ctx context.Context, st storage.Backend, tenant string) (*big.Int, error) {
	b := make([]byte, serialBytes)
	for range 3 {
		if _, err := io.ReadFull(s.rand, b); err != nil {
			return nil, fault.Unexpected(err)
		}
		n := new(big.Int).SetBytes(b)
		if n.Sign() == 0 {
			continue
		}
		free, err := storage.Absent(ctx, st, certPath(tenant, serialString(n)))
		if err != nil {
			return nil, fault.Storage(err)
		}
		if free {
			return n, nil
		}
	}
	return nil, fault.Unexpected(errors.New("pki: the random source keeps repeating serial numbers"))
}

// claimSerials refuses, with an internal error, serials of which st holds
// a certificate: in a transaction, their absence is its condition,
// so that no two certificates of a tenant share a serial.
func claimSerials(ctx context.Context, st storage.Backend, tenant string, serials ...*big.Int) error {
	for _, n := range serials {
		free, err := storage.Absent(ctx, st, certPath(tenant, serialString(n)))
		if err != nil {
			return fault.Storage(err)
		}
		if !free {
			return fault.Unexpected(fmt.Errorf("pki: serial %s was taken concurrently", serialString(n)))
		}
	}
	return nil
}
