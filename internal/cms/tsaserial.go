package cms

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// nextSerial returns the next serial number of a TSA, 1 for its first
// token, and stores it behind the barrier before it is used: serial
// numbers of a TSA increase with every token and are never issued twice,
// restarts included. The counter is advanced by compare-and-swap, so
// nodes sharing a store never issue one serial twice; on this node the
// callers of one TSA queue on its own short lock, held across the
// counter's read and write only, so that they do not retry against each
// other. TSAs never wait on each other.
func (s *Service) nextSerial(ctx context.Context, st storage.Backend, tenant, tsa string) (*big.Int, error) {
	path := tsaSerialPath(tenant, tsa)
	mu, _ := s.serialMs.LoadOrStore(path, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	n := new(big.Int)
	err := storage.Atomic(ctx, st, func(tx storage.Backend) error {
		n.SetInt64(0)
		b, err := tx.Get(ctx, path)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return err
		default:
			if _, ok := n.SetString(string(b), 10); !ok || n.Sign() < 0 {
				return fmt.Errorf("cms: the serial counter of TSA %s/%s is corrupt", tenant, tsa)
			}
		}
		n.Add(n, big.NewInt(1))
		return tx.Put(ctx, path, []byte(n.String()))
	})
	if err != nil {
		return nil, fault.Storage(err)
	}
	return n, nil
}
