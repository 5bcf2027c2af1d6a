package barrier

import (
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// keyring holds the data keys of every term and the root key that seals
// them. A keyring is immutable once published; changes make a clone.
type keyring struct {
	rootKey  []byte
	rootAEAD *sm4gcm.AEAD
	active   uint32
	terms    map[uint32]*termKey
}

type termKey struct {
	key       []byte
	aead      *sm4gcm.AEAD
	installed time.Time
}

func newKeyring(rootKey []byte) (*keyring, error) {
	aead, err := sm4gcm.New(rootKey)
	if err != nil {
		return nil, fmt.Errorf("barrier: root key: %w", err)
	}
	return &keyring{rootKey: append([]byte(nil), rootKey...), rootAEAD: aead, terms: map[uint32]*termKey{}}, nil
}

func (kr *keyring) clone() *keyring {
	c := *kr
	c.terms = maps.Clone(kr.terms)
	return &c
}

// addTerm installs a fresh random key as the next term and makes it active.
func (kr *keyring) addTerm(rand io.Reader, now time.Time) error {
	key := make([]byte, sm4gcm.KeySize)
	if _, err := io.ReadFull(rand, key); err != nil {
		return fmt.Errorf("barrier: generating key: %w", err)
	}
	term := kr.active + 1
	if err := kr.install(term, key, now.UTC()); err != nil {
		return err
	}
	kr.active = term
	return nil
}

func (kr *keyring) install(term uint32, key []byte, installed time.Time) error {
	aead, err := sm4gcm.New(key)
	if err != nil || term == 0 {
		return fmt.Errorf("%w: term %d", errKeyringCorrupt, term)
	}
	kr.terms[term] = &termKey{key: key, aead: aead, installed: installed}
	return nil
}

// seal encrypts value for path under the active term.
func (kr *keyring) seal(rand io.Reader, path string, value []byte) ([]byte, error) {
	out := make([]byte, headerSize, headerSize+sm4gcm.Overhead+len(value))
	out[0] = formatVersion
	binary.BigEndian.PutUint32(out[1:], kr.active)
	out, err := kr.terms[kr.active].aead.Seal(out, rand, value, []byte(path))
	if err != nil {
		return nil, fmt.Errorf("barrier: sealing %s: %w", path, err)
	}
	return out, nil
}

// open decrypts an entry written under term for path.
func (kr *keyring) open(path string, term uint32, sealed []byte) ([]byte, error) {
	tk, ok := kr.terms[term]
	if !ok {
		return nil, fmt.Errorf("%w: %s: unknown keyring term %d", ErrCorrupt, path, term)
	}
	plain, err := tk.aead.Open(nil, sealed[headerSize:], []byte(path))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, path)
	}
	return plain, nil
}

// wipe zeroes the key bytes this keyring owns.
func (kr *keyring) wipe() {
	clear(kr.rootKey)
	for _, tk := range kr.terms {
		clear(tk.key)
	}
}
