package seal

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// kekAAD binds a wrapped root key to its purpose and cluster.
func kekAAD(clusterID []byte) []byte {
	return append([]byte("mima root key wrap v1\x00"), clusterID...)
}

// ReadKEKFile reads an unattended-unseal key-encryption key: a file holding
// 32 hexadecimal characters (16 bytes, an SM4 key), such as the output of
// `openssl rand -hex 16`. Surrounding whitespace is ignored.
func ReadKEKFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seal: reading KEK file: %w", err)
	}
	kek, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(kek) != sm4gcm.KeySize {
		return nil, fmt.Errorf("seal: KEK file %s must hold exactly 32 hexadecimal characters", path)
	}
	return kek, nil
}

// WrapRootKey seals rootKey under kek for cfg's cluster and records it in
// cfg.WrappedRootKey.
func WrapRootKey(rand io.Reader, cfg *Config, kek, rootKey []byte) error {
	return WrapRoot(context.Background(), KEK(kek, rand), cfg, rootKey)
}

// UnwrapRootKey recovers the root key that WrapRootKey stored in cfg.
func UnwrapRootKey(cfg Config, kek []byte) ([]byte, error) {
	k, _, err := UnwrapRoot(context.Background(), KEK(kek, nil), cfg)
	return k, err
}

// sealUnder seals rootKey under kek with SM4-GCM.
func sealUnder(rand io.Reader, kek, rootKey, aad []byte) ([]byte, error) {
	aead, err := sm4gcm.New(kek)
	if err != nil {
		return nil, fmt.Errorf("seal: KEK: %w", err)
	}
	return aead.Seal(nil, rand, rootKey, aad)
}

// openUnder opens what sealUnder sealed.
func openUnder(kek, wrapped, aad []byte) ([]byte, error) {
	aead, err := sm4gcm.New(kek)
	if err != nil {
		return nil, fmt.Errorf("seal: KEK: %w", err)
	}
	rootKey, err := aead.Open(nil, wrapped, aad)
	if err != nil {
		return nil, fmt.Errorf("the KEK does not match")
	}
	return rootKey, nil
}
