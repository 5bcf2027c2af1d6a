package device

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// Key sizes of the Software device's material.
const (
	SM4KeySize        = 16
	SM2KeySize        = 32 // the private scalar d, big endian
	HMACSM3KeySize    = 32 // generated HMAC-SM3 keys
	minHMACSM3KeySize = 16 // shortest HMAC-SM3 key Open accepts
	maxHMACSM3KeySize = 64 // longest: one SM3 block
)

// Software is a Device that keeps keys in process memory and computes with
// github.com/emmansun/gmsm. Its stored form, and its backup form, is the
// raw key: 16 SM4 key bytes, the 32-byte SM2 private scalar, the
// HMAC-SM3 key (16 to 64 bytes) or the 16- or 32-byte ZUC key; the key service keeps it behind the
// barrier and never reads it. Every key may leave wrapped.
type Software struct {
	rand io.Reader
}

var _ Device = (*Software)(nil)

// Option configures a Software device.
type Option func(*Software)

// WithRand sets the random source for key generation, signatures, wrapping
// and Random; by default it is a new DRBG seeded from crypto/rand.
func WithRand(r io.Reader) Option { return func(s *Software) { s.rand = r } }

// NewSoftware returns a Software device.
func NewSoftware(opts ...Option) *Software {
	s := &Software{}
	for _, o := range opts {
		o(s)
	}
	if s.rand == nil {
		s.rand = NewDRBG(nil)
	}
	return s
}

// Random returns the device's random bit generator.
func (s *Software) Random() io.Reader { return s.rand }

// Generate returns fresh raw key material of type t.
func (s *Software) Generate(_ context.Context, t KeyType) ([]byte, error) {
	switch t {
	case SM4:
		return s.randomBytes(SM4KeySize)
	case HMACSM3:
		return s.randomBytes(HMACSM3KeySize)
	case ZUC128, ZUC256:
		return s.randomBytes(zucKeySize(t))
	case SM2:
		priv, err := sm2.GenerateKey(s.rand)
		if err != nil {
			return nil, fmt.Errorf("device: generating an SM2 key: %w", err)
		}
		return priv.D.FillBytes(make([]byte, SM2KeySize)), nil
	case SM9SignMaster, SM9EncMaster, SM9SignUser, SM9EncUser:
		return s.generateSM9(t)
	}
	return nil, unsupported(t)
}

func (s *Software) randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, fmt.Errorf("device: reading random bytes: %w", err)
	}
	return b, nil
}

// Open parses raw key material of type t; material that breaks the rules
// of t is a *MaterialError.
func (s *Software) Open(_ context.Context, t KeyType, material []byte) (Key, error) {
	return s.open(t, material)
}

func (s *Software) open(t KeyType, material []byte) (Key, error) {
	switch t {
	case SM4:
		return s.openSM4(material)
	case SM2:
		if len(material) != SM2KeySize {
			return nil, &MaterialError{fmt.Sprintf("sm2 key material must be a %d-byte private scalar", SM2KeySize)}
		}
		priv, err := sm2.NewPrivateKey(material)
		if err != nil {
			return nil, &MaterialError{"sm2 key material must be a private scalar in [1, n-2]"}
		}
		return &sm2Key{priv: priv, rand: s.rand}, nil
	case HMACSM3:
		if len(material) < minHMACSM3KeySize || len(material) > maxHMACSM3KeySize {
			return nil, &MaterialError{fmt.Sprintf("hmac-sm3 key material must be %d to %d bytes", minHMACSM3KeySize, maxHMACSM3KeySize)}
		}
		return &hmacKey{key: slices.Clone(material), rand: s.rand}, nil
	case SM9SignMaster, SM9EncMaster, SM9SignUser, SM9EncUser:
		return s.openSM9(t, slices.Clone(material))
	case ZUC128, ZUC256:
		return s.openZUC(t, material)
	}
	return nil, unsupported(t)
}

func (s *Software) openSM4(material []byte) (*sm4Key, error) {
	if len(material) != SM4KeySize {
		return nil, &MaterialError{fmt.Sprintf("sm4 key material must be exactly %d bytes", SM4KeySize)}
	}
	block, err := sm4.NewCipher(material)
	if err != nil {
		return nil, fmt.Errorf("device: SM4 key: %w", err)
	}
	aead, err := sm4gcm.FromBlock(block)
	if err != nil {
		return nil, fmt.Errorf("device: SM4-GCM: %w", err)
	}
	return &sm4Key{dev: s, key: slices.Clone(material), block: block, aead: aead}, nil
}

// Backup checks material and returns a copy: the Software device's backup
// form is the raw key.
func (s *Software) Backup(_ context.Context, t KeyType, material []byte) ([]byte, error) {
	if _, err := s.open(t, material); err != nil {
		return nil, err
	}
	return slices.Clone(material), nil
}

// Restore checks a backup form (the raw key) and returns a copy as the
// stored form.
func (s *Software) Restore(ctx context.Context, t KeyType, backup []byte) ([]byte, error) {
	return s.Backup(ctx, t, backup)
}

// unsupported returns the error for a key type this device does not
// implement; its text is safe to show to users.
func unsupported(t KeyType) error {
	return fmt.Errorf("%w %q: supported types are %s, %s, %s, %s, %s, %s and %s: %w", ErrUnsupportedType, string(t), SM4, SM2, HMACSM3, SM9SignMaster, SM9EncMaster, ZUC128, ZUC256, ErrNotSupported)
}
