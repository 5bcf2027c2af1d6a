package device

import (
	"fmt"
	"io"

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
// github.com/emmansun/gmsm. Its material is the raw key: 16 SM4 key bytes,
// the 32-byte SM2 private scalar, or the HMAC-SM3 key (16 to 64 bytes).
type Software struct {
	rand io.Reader
}

var _ Device = (*Software)(nil)

// Option configures a Software device.
type Option func(*Software)

// WithRand sets the random source for key generation and for Random; by
// default it is a new DRBG seeded from crypto/rand.
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
func (s *Software) Generate(t KeyType) ([]byte, error) {
	switch t {
	case SM4:
		return s.randomBytes(SM4KeySize)
	case HMACSM3:
		return s.randomBytes(HMACSM3KeySize)
	case SM2:
		priv, err := sm2.GenerateKey(s.rand)
		if err != nil {
			return nil, fmt.Errorf("device: generating an SM2 key: %w", err)
		}
		return priv.D.FillBytes(make([]byte, SM2KeySize)), nil
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

// Open parses raw key material of type t.
func (s *Software) Open(t KeyType, material []byte) (Key, error) {
	switch t {
	case SM4:
		return openSM4(material)
	case SM2:
		if len(material) != SM2KeySize {
			return nil, fmt.Errorf("device: SM2 key material is %d bytes, want %d", len(material), SM2KeySize)
		}
		priv, err := sm2.NewPrivateKey(material)
		if err != nil {
			return nil, fmt.Errorf("device: invalid SM2 private key: %w", err)
		}
		return &sm2Key{priv: priv}, nil
	case HMACSM3:
		if len(material) < minHMACSM3KeySize || len(material) > maxHMACSM3KeySize {
			return nil, fmt.Errorf("device: HMAC-SM3 key material is %d bytes, want %d to %d", len(material), minHMACSM3KeySize, maxHMACSM3KeySize)
		}
		return &hmacKey{key: append([]byte(nil), material...)}, nil
	}
	return nil, unsupported(t)
}

func openSM4(material []byte) (*sm4Key, error) {
	if len(material) != SM4KeySize {
		return nil, fmt.Errorf("device: SM4 key material is %d bytes, want %d", len(material), SM4KeySize)
	}
	block, err := sm4.NewCipher(material)
	if err != nil {
		return nil, fmt.Errorf("device: SM4 key: %w", err)
	}
	aead, err := sm4gcm.FromBlock(block)
	if err != nil {
		return nil, fmt.Errorf("device: SM4-GCM: %w", err)
	}
	return &sm4Key{key: append([]byte(nil), material...), block: block, aead: aead}, nil
}

// unsupported returns the error for a key type this device does not
// implement; its text is safe to show to users.
func unsupported(t KeyType) error {
	return fmt.Errorf("%w %q: supported types are %s, %s and %s", ErrUnsupportedType, string(t), SM4, SM2, HMACSM3)
}
