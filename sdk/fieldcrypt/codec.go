package fieldcrypt

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	gmcipher "github.com/emmansun/gmsm/cipher"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/sdk/fieldcrypt/ff1"
)

// The markers that begin a stored value of each reversible format, version
// 1 (docs/data.md); a column value without one is plain.
const (
	MarkRandomized    = "mf1r."
	MarkDeterministic = "mf1d."
	MarkIndex         = "mf1b."
	MarkPseudonym     = "mf1p."
)

// Errors of Decrypt, told apart with errors.Is. None quotes a value.
var (
	// ErrFormat: the stored value is not of the field's format.
	ErrFormat = errors.New("fieldcrypt: the value is not a field of this format")
	// ErrAuth: the value does not authenticate: it was altered, or made
	// under another key.
	ErrAuth = errors.New("fieldcrypt: the value does not authenticate under this key")
	// ErrInput: the plaintext does not fit the field (FPE formats).
	ErrInput = errors.New("fieldcrypt: the value does not fit the field's format")
	// ErrIrreversible: masks and pseudonyms do not decrypt.
	ErrIrreversible = errors.New("fieldcrypt: masked and pseudonymised values cannot be decrypted")
)

// b64 refuses non-zero trailing bits, so a value has one encoding and no
// stored character can change without the value being refused.
var b64 = base64.RawURLEncoding.Strict()

const (
	commitSize = sm3.Size
	nonceSize  = 12
	tagSize    = 16
	maxWrapped = 255
)

// Codec encrypts and decrypts field values. It is safe for concurrent use
// and meant to live as long as the process: its cache is what spares the
// service a call per field.
type Codec struct {
	cache *cache
	mu    sync.RWMutex
	keys  map[fieldKeyID]*fieldKey
}

type fieldKeyID struct {
	key, purpose string
	version      int
}

// fieldKey is a field key ready for its purpose.
type fieldKey struct {
	siv  cipher.AEAD // deterministic
	mac  []byte      // blind-index, pseudonym: the HMAC-SM3 key
	ff1  *ff1.Cipher // fpe
	tail []byte      // version, big-endian, as stored
}

// New returns a Codec that fetches keys from ks within limits (zero
// fields take DefaultLimits). now is the clock of the cache's age limit;
// nil means time.Now.
func New(ks KeyService, limits Limits, now func() time.Time) *Codec {
	if now == nil {
		now = time.Now
	}
	return &Codec{cache: newCache(ks, limits, now), keys: map[fieldKeyID]*fieldKey{}}
}

// Stats returns the cache's counters.
func (c *Codec) Stats() Stats { return c.cache.stats() }

// Protected reports whether stored carries the marker of f's mode (for
// randomized, blind-index and deterministic fields; the other modes leave
// no marker, and it reports false).
func Protected(f *Field, stored []byte) bool {
	switch f.Mode {
	case Randomized, BlindIndex:
		return hasMark(stored, MarkRandomized)
	case Deterministic:
		return hasMark(stored, MarkDeterministic)
	}
	return false
}

func hasMark(b []byte, mark string) bool {
	return len(b) >= len(mark) && string(b[:len(mark)]) == mark
}

// Encrypt protects one value of field f (checked with Field.Check). For a
// blind-index field it returns the column's ciphertext; Index gives the
// index.
func (c *Codec) Encrypt(ctx context.Context, f *Field, value []byte) ([]byte, error) {
	switch f.Mode {
	case Randomized, BlindIndex:
		return c.encryptRandomized(ctx, f, value)
	case Deterministic:
		k, err := c.fieldKey(ctx, f.Key, string(Deterministic), f.Version)
		if err != nil {
			return nil, err
		}
		var nonce [nonceSize]byte
		raw := k.siv.Seal(append([]byte(nil), k.tail...), nonce[:], value, detAAD(k.tail))
		return encode(MarkDeterministic, raw), nil
	case FPE:
		k, err := c.fieldKey(ctx, f.Key, string(FPE), f.Version)
		if err != nil {
			return nil, err
		}
		return fpe(k.ff1, f.Format, []byte(f.Tweak), value, true)
	case Mask:
		return []byte(f.pattern.Apply(string(value))), nil
	case Pseudonym:
		return c.tag(ctx, f, MarkPseudonym, string(Pseudonym), 16, value)
	}
	return nil, fmt.Errorf("fieldcrypt: unknown mode %q", f.Mode)
}

// Decrypt returns the value that Encrypt protected as stored.
func (c *Codec) Decrypt(ctx context.Context, f *Field, stored []byte) ([]byte, error) {
	switch f.Mode {
	case Randomized, BlindIndex:
		return c.decryptRandomized(ctx, f, stored)
	case Deterministic:
		raw, err := decode(MarkDeterministic, stored)
		if err != nil || len(raw) < 2+tagSize {
			return nil, ErrFormat
		}
		k, err := c.fieldKey(ctx, f.Key, string(Deterministic), int(binary.BigEndian.Uint16(raw)))
		if err != nil {
			return nil, err
		}
		var nonce [nonceSize]byte
		pt, err := k.siv.Open(nil, nonce[:], raw[2:], detAAD(raw[:2]))
		if err != nil {
			return nil, ErrAuth
		}
		return pt, nil
	case FPE:
		k, err := c.fieldKey(ctx, f.Key, string(FPE), f.Version)
		if err != nil {
			return nil, err
		}
		return fpe(k.ff1, f.Format, []byte(f.Tweak), stored, false)
	case Mask, Pseudonym:
		return nil, ErrIrreversible
	}
	return nil, fmt.Errorf("fieldcrypt: unknown mode %q", f.Mode)
}

// Index returns the blind index of value for a blind-index field: the
// first IndexBytes bytes of HMAC-SM3 of the normalised value (Normalize)
// under the field's index key, with the key version.
func (c *Codec) Index(ctx context.Context, f *Field, value []byte) ([]byte, error) {
	if f.Mode != BlindIndex {
		return nil, fmt.Errorf("fieldcrypt: column %q is not a blind-index field", f.Column)
	}
	return c.tag(ctx, f, MarkIndex, string(BlindIndex), f.IndexBytes, value)
}

// Reveal is what role sees of a stored value of f under cfg's roles: the
// plaintext when the role may decrypt the column, else its mask (the
// field's Mask, or every character masked). Masks and pseudonyms are
// shown as stored.
func (c *Codec) Reveal(ctx context.Context, cfg *Config, role string, f *Field, stored []byte) ([]byte, error) {
	if !f.Reversible() {
		return stored, nil
	}
	pt, err := c.Decrypt(ctx, f, stored)
	if err != nil || cfg.MayDecrypt(role, f.Column) {
		return pt, err
	}
	defer clear(pt)
	return []byte(f.pattern.Apply(string(pt))), nil
}

// Normalize is the form of a value that a blind index and a pseudonym
// are computed on: surrounding white space removed, inner runs of white
// space made one space, letters in lower case.
func Normalize(value []byte) []byte {
	return []byte(strings.ToLower(strings.Join(strings.Fields(string(value)), " ")))
}

func (c *Codec) tag(ctx context.Context, f *Field, mark, purpose string, n int, value []byte) ([]byte, error) {
	k, err := c.fieldKey(ctx, f.Key, purpose, f.Version)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sm3.New, k.mac)
	m.Write(Normalize(value))
	return encode(mark, append(append([]byte(nil), k.tail...), m.Sum(nil)[:n]...)), nil
}

// The randomized format (after the marker, base64url without padding):
//
//	len(W) (1 byte) || W || C (32 bytes) || nonce (12 bytes) || SM4-GCM ciphertext and tag
//
// W is the wrapped data key ("mima:v<N>:..."), C its key commitment
// HMAC-SM3(DK, "MIMA-FIELD-1 key commitment"); the GCM key is the first 16
// bytes of HMAC-SM3(DK, "MIMA-FIELD-1 encryption key"), and everything
// before the ciphertext is its additional data.
func (c *Codec) encryptRandomized(ctx context.Context, f *Field, value []byte) ([]byte, error) {
	k, n, err := c.cache.forEncryption(ctx, f.Key, len(value))
	if err != nil {
		return nil, err
	}
	if len(k.wrapped) > maxWrapped {
		return nil, fmt.Errorf("fieldcrypt: the wrapped data key of %q is longer than %d bytes", f.Key, maxWrapped)
	}
	hdr := 1 + len(k.wrapped) + commitSize + nonceSize
	raw := make([]byte, hdr, hdr+len(value)+tagSize)
	raw[0] = byte(len(k.wrapped))
	off := 1 + copy(raw[1:], k.wrapped)
	off += copy(raw[off:], k.commit[:])
	binary.BigEndian.PutUint64(raw[off+4:], n)
	raw = k.gcm.Seal(raw, raw[off:hdr], value, raw[:hdr])
	return encode(MarkRandomized, raw), nil
}

func (c *Codec) decryptRandomized(ctx context.Context, f *Field, stored []byte) ([]byte, error) {
	raw, err := decode(MarkRandomized, stored)
	if err != nil || len(raw) < 1 {
		return nil, ErrFormat
	}
	wl := int(raw[0])
	hdr := 1 + wl + commitSize + nonceSize
	if len(raw) < hdr+tagSize {
		return nil, ErrFormat
	}
	k, err := c.cache.forDecryption(ctx, f.Key, raw[1:1+wl])
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(k.commit[:], raw[1+wl:1+wl+commitSize]) != 1 {
		return nil, ErrAuth
	}
	pt, err := k.gcm.Open(nil, raw[hdr-nonceSize:hdr], raw[hdr:], raw[:hdr])
	if err != nil {
		return nil, ErrAuth
	}
	return pt, nil
}

// detAAD is the additional data of a deterministic field: its marker and
// the key version.
func detAAD(version []byte) []byte { return append([]byte(MarkDeterministic), version...) }

func encode(mark string, raw []byte) []byte {
	out := make([]byte, len(mark)+b64.EncodedLen(len(raw)))
	copy(out, mark)
	b64.Encode(out[len(mark):], raw)
	return out
}

func decode(mark string, stored []byte) ([]byte, error) {
	if !hasMark(stored, mark) {
		return nil, ErrFormat
	}
	body := stored[len(mark):]
	raw := make([]byte, b64.DecodedLen(len(body)))
	n, err := b64.Decode(raw, body)
	if err != nil {
		return nil, ErrFormat
	}
	return raw[:n], nil
}

// fieldKey returns the field key of purpose under version of key, from
// the cache or the service.
func (c *Codec) fieldKey(ctx context.Context, key, purpose string, version int) (*fieldKey, error) {
	id := fieldKeyID{key, purpose, version}
	c.mu.RLock()
	k := c.keys[id]
	c.mu.RUnlock()
	if k != nil {
		c.cache.hits.Add(1)
		return k, nil
	}
	if version < 1 || version > 0xffff {
		return nil, ErrFormat
	}
	c.cache.calls.Add(1)
	raw, v, err := c.cache.ks.FieldKey(ctx, key, purpose, version)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	if v != version || len(raw) != sm4.BlockSize {
		return nil, fmt.Errorf("fieldcrypt: the service gave the %s key of %q version %d for version %d", purpose, key, v, version)
	}
	k = &fieldKey{tail: binary.BigEndian.AppendUint16(nil, uint16(version))}
	switch purpose {
	case string(Deterministic):
		k.siv, err = gmcipher.NewGCMSIV(sm4.NewCipher, raw)
	case string(FPE):
		k.ff1, err = NewFF1(raw)
	default:
		k.mac = append([]byte(nil), raw...)
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.keys[id] = k
	c.mu.Unlock()
	return k, nil
}

// NewFF1 returns FF1 with SM4 under a 16-byte key for decimal digits.
func NewFF1(key []byte) (*ff1.Cipher, error) {
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return ff1.New(block, 10)
}
