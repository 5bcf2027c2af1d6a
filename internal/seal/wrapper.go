package seal

import (
	"context"
	"fmt"
	"io"
)

// Wrapper seals the root key under a key kept outside mima's storage so
// that a node unseals itself at start (auto-unseal): the unattended KEK
// file, or a key in a PKCS#11 token (seal: pkcs11). Key shares remain the
// recovery path: a cluster with a Wrapper still has its shares.
type Wrapper interface {
	// Kind names the wrapper in Config.Wrapper: "kek" or "pkcs11".
	Kind() string
	// Wrap seals rootKey, binding aad.
	Wrap(ctx context.Context, rootKey, aad []byte) ([]byte, error)
	// Unwrap opens a blob made by Wrap. current is false when the blob
	// was made under a key other than the one configured now (the
	// wrapping key rotated), so the caller wraps the root key again.
	Unwrap(ctx context.Context, blob, aad []byte) (rootKey []byte, current bool, err error)
}

// KEK returns the Wrapper of an unattended KEK read with ReadKEKFile: the
// root key sealed with SM4-GCM in process.
func KEK(kek []byte, rand io.Reader) Wrapper { return kekWrapper{kek: kek, rand: rand} }

type kekWrapper struct {
	kek  []byte
	rand io.Reader
}

func (kekWrapper) Kind() string { return "kek" }

func (w kekWrapper) Wrap(_ context.Context, rootKey, aad []byte) ([]byte, error) {
	return sealUnder(w.rand, w.kek, rootKey, aad)
}

func (w kekWrapper) Unwrap(_ context.Context, blob, aad []byte) ([]byte, bool, error) {
	k, err := openUnder(w.kek, blob, aad)
	return k, true, err
}

// WrapRoot seals rootKey with w for cfg's cluster and records it in cfg.
func WrapRoot(ctx context.Context, w Wrapper, cfg *Config, rootKey []byte) error {
	wrapped, err := w.Wrap(ctx, rootKey, kekAAD(cfg.ClusterID))
	if err != nil {
		return fmt.Errorf("seal: wrapping the root key (%s): %w", w.Kind(), err)
	}
	cfg.WrappedRootKey, cfg.Wrapper = wrapped, w.Kind()
	if w.Kind() == "kek" {
		cfg.Wrapper = "" // as clusters initialised before Wrapper existed
	}
	return nil
}

// UnwrapRoot recovers the root key that WrapRoot stored in cfg; current
// is false when it should be wrapped again (see Wrapper.Unwrap).
func UnwrapRoot(ctx context.Context, w Wrapper, cfg Config) (rootKey []byte, current bool, err error) {
	kind := cfg.Wrapper
	if kind == "" {
		kind = "kek"
	}
	switch {
	case len(cfg.WrappedRootKey) == 0:
		return nil, false, fmt.Errorf("seal: this cluster was initialised without auto-unseal; unseal it with its key shares")
	case kind != w.Kind():
		return nil, false, fmt.Errorf("seal: this cluster's root key is wrapped by the %s seal, not by %s", kind, w.Kind())
	}
	rootKey, current, err = w.Unwrap(ctx, cfg.WrappedRootKey, kekAAD(cfg.ClusterID))
	if err != nil {
		return nil, false, fmt.Errorf("seal: the %s seal does not unwrap this cluster's root key: %w", kind, err)
	}
	return rootKey, current, nil
}
