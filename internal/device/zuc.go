package device

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"slices"

	"github.com/emmansun/gmsm/kdf"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/zuc"
)

// ZUC key types: the stream cipher of GB/T 33133 (GM/T 0001) with a
// 128-bit key, as 3GPP uses it for 128-EEA3 and 128-EIA3 (TS 35.221,
// TS 35.222), and ZUC-256 with a 256-bit key.
const (
	ZUC128 KeyType = "zuc-128"
	ZUC256 KeyType = "zuc-256"
)

// Sizes of ZUC keys and of the ZUC-256 IV.
const (
	ZUC128KeySize = 16
	ZUC256KeySize = 32
	// ZUC256IVSize is the ZUC-256 IV: the 25 symbols IV0..IV24 of the
	// ZUC-256 specification, IV0..IV16 a byte each and IV17..IV24 six bits
	// each, packed big endian into 17 + 6 bytes.
	ZUC256IVSize = zuc.IVSize256
)

// ZUCMessage is the input of one ZUC operation: the IV and a message of
// Bits bits.
type ZUCMessage struct {
	// Count (32 bits), Bearer (5 bits) and Direction (1 bit) make the IV
	// of 128-EEA3 and 128-EIA3, for zuc-128 keys.
	Count             uint32
	Bearer, Direction uint8
	// IV is the ZUC256IVSize-byte IV of zuc-256 keys.
	IV []byte
	// Data holds the message, its first Bits bits, most significant bit
	// first: len(Data) is Bits rounded up to whole bytes.
	Data []byte
	Bits int
}

// check reports whether m fits a key of type t.
func (m *ZUCMessage) check(t KeyType) error {
	if m.Bits < 0 || (m.Bits+7)/8 != len(m.Data) {
		return fmt.Errorf("device: a ZUC message of %d bits must be %d bytes, not %d", m.Bits, (max(m.Bits, 0)+7)/8, len(m.Data))
	}
	if t == ZUC256 {
		if len(m.IV) != ZUC256IVSize || m.Count != 0 || m.Bearer != 0 || m.Direction != 0 {
			return fmt.Errorf("device: zuc-256 takes a %d-byte IV and no count, bearer or direction", ZUC256IVSize)
		}
		return nil
	}
	if m.IV != nil || m.Bearer > 31 || m.Direction > 1 {
		return fmt.Errorf("device: zuc-128 takes a count, a bearer below 32, a direction of 0 or 1, and no IV")
	}
	return nil
}

// StreamCipher is implemented by ZUC keys.
type StreamCipher interface {
	Key
	// EEA3 appends to dst the message XORed with the keystream: 128-EEA3
	// for zuc-128 keys, the ZUC-256 keystream for zuc-256 keys. The bits
	// of the last byte past m.Bits are zero. It is its own inverse.
	EEA3(ctx context.Context, dst []byte, m ZUCMessage) ([]byte, error)
	// EIA3 appends to dst the MAC of the message: the 4-byte 128-EIA3
	// MAC for zuc-128 keys (macSize 4), the ZUC-256 MAC of macSize 4, 8
	// or 16 bytes for zuc-256 keys.
	EIA3(ctx context.Context, dst []byte, m ZUCMessage, macSize int) ([]byte, error)
}

// zucKey is an opened ZUC key.
type zucKey struct {
	typ KeyType
	key []byte
	dev *Software
}

var (
	_ StreamCipher = (*zucKey)(nil)
	_ Deriver      = (*zucKey)(nil)
	_ Wrapper      = (*zucKey)(nil)
)

// zucKeySize returns the key size of a ZUC key type, 0 for other types.
func zucKeySize(t KeyType) int {
	switch t {
	case ZUC128:
		return ZUC128KeySize
	case ZUC256:
		return ZUC256KeySize
	}
	return 0
}

// openZUC opens raw ZUC key material of type t.
func (s *Software) openZUC(t KeyType, material []byte) (*zucKey, error) {
	if len(material) != zucKeySize(t) {
		return nil, &MaterialError{fmt.Sprintf("%s key material must be exactly %d bytes", t, zucKeySize(t))}
	}
	return &zucKey{typ: t, key: slices.Clone(material), dev: s}, nil
}

// Type returns ZUC128 or ZUC256.
func (k *zucKey) Type() KeyType { return k.typ }

// EEA3 appends the message XORed with the keystream to dst.
func (k *zucKey) EEA3(_ context.Context, dst []byte, m ZUCMessage) ([]byte, error) {
	if err := m.check(k.typ); err != nil {
		return nil, err
	}
	var stream interface{ XORKeyStream(dst, src []byte) }
	var err error
	if k.typ == ZUC256 {
		stream, err = zuc.NewCipher(k.key, m.IV)
	} else {
		stream, err = zuc.NewEEACipher(k.key, m.Count, uint32(m.Bearer), uint32(m.Direction))
	}
	if err != nil {
		return nil, fmt.Errorf("device: ZUC: %w", err)
	}
	ret := slices.Grow(dst, len(m.Data))[:len(dst)+len(m.Data)]
	out := ret[len(dst):]
	stream.XORKeyStream(out, m.Data)
	if r := m.Bits % 8; r != 0 {
		out[len(out)-1] &= 0xff << (8 - r)
	}
	return ret, nil
}

// EIA3 appends the MAC of the message to dst.
func (k *zucKey) EIA3(_ context.Context, dst []byte, m ZUCMessage, macSize int) ([]byte, error) {
	if err := m.check(k.typ); err != nil {
		return nil, err
	}
	var h zuc.EIA
	var err error
	switch {
	case k.typ == ZUC256:
		h, err = zuc.NewHash256(k.key, m.IV, macSize)
	case macSize == 4:
		h, err = zuc.NewEIAHash(k.key, m.Count, uint32(m.Bearer), uint32(m.Direction))
	default:
		return nil, fmt.Errorf("device: a 128-EIA3 MAC is 4 bytes, not %d", macSize)
	}
	if err != nil {
		return nil, fmt.Errorf("device: ZUC: %w", err)
	}
	return append(dst, h.Finish(m.Data, m.Bits)...), nil
}

// Derive returns the key KDF(K || info) of the same size and type: the
// SM3 key derivation of GB/T 32918.4 section 5.4.3, as sm4 keys derive.
func (k *zucKey) Derive(_ context.Context, info []byte) (Key, error) {
	z := make([]byte, 0, len(k.key)+len(info))
	z = append(append(z, k.key...), info...)
	out := kdf.Kdf(sm3.New, z, len(k.key))
	clear(z)
	child, err := k.dev.openZUC(k.typ, out)
	clear(out)
	return child, err
}

// Wrap returns the key SM2-encrypted to pub.
func (k *zucKey) Wrap(_ context.Context, pub *ecdsa.PublicKey, form SM2Form) ([]byte, error) {
	return encryptSM2(k.dev.rand, pub, k.key, form)
}
