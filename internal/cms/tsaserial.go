package cms

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/mimacrypto/mima/internal/storage"
)

// nextSerial returns the next serial number of a TSA, 1 for its first
// token, and stores it behind the barrier before it is used: serial
// numbers of a TSA increase with every token and are never issued twice,
// restarts included. The counter is read and written under serialM,
// which nodes sharing a store take cluster-wide.
func (s *Service) nextSerial(ctx context.Context, st storage.Backend, tenant, tsa string) (*big.Int, error) {
	if err := s.serialM.Lock(ctx, st); err != nil {
		return nil, storageErr(err)
	}
	defer s.serialM.Unlock()
	path := tsaSerialPath(tenant, tsa)
	n := new(big.Int)
	b, err := st.Get(ctx, path)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return nil, storageErr(err)
	default:
		if _, ok := n.SetString(string(b), 10); !ok || n.Sign() < 0 {
			return nil, fmt.Errorf("cms: the serial counter of TSA %s/%s is corrupt", tenant, tsa)
		}
	}
	n.Add(n, big.NewInt(1))
	if err := st.Put(ctx, path, []byte(n.String())); err != nil {
		return nil, storageErr(err)
	}
	return n, nil
}
