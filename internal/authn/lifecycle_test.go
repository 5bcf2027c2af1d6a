package authn

import (
	"context"

	"github.com/mimacrypto/mima/internal/storage"
)

// unsealed returns a Service serving from store, as after an unseal.
func unsealed(store storage.Backend, opts ...Option) *Service {
	s := New(opts...)
	if err := s.Unsealed(context.Background(), store); err != nil {
		panic(err)
	}
	return s
}
