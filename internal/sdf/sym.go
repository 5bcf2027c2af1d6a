package sdf

import (
	"context"
	"crypto/cipher"
	"crypto/ecdsa"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
	"github.com/mimacrypto/mima/sdk"
)

// addKey makes raw, which it clears, a session key of s (held until
// SDF_DestroyKey or the session closes) and returns its handle.
func (s *Session) addKey(raw []byte) (uintptr, error) {
	k, err := NewSM4Key(raw)
	if err != nil {
		return 0, &Error{Code: KeyErr, Err: err}
	}
	return s.keys.Put(k), nil
}

// checkBits refuses a session key size other than SM4's 128 bits.
func checkBits(bits uint32) error {
	if bits != 8*sm4.BlockSize {
		return fail(InArgErr, "session keys are 128-bit SM4 keys, not %d bits", bits)
	}
	return nil
}

// GenerateKeyWithIPK makes a session key and returns it encrypted to the
// key of index i, with its handle.
func (s *Session) GenerateKeyWithIPK(ctx context.Context, i, bits uint32) (Cipher, uintptr, error) {
	if err := checkBits(bits); err != nil {
		return Cipher{}, 0, err
	}
	name, c, err := s.key(i)
	if err != nil {
		return Cipher{}, 0, err
	}
	dk, err := c.Crypto().DataKey(ctx, name, sdk.DataKeyRequest{Kind: "sm4", SM2Format: "c1c3c2"})
	if err != nil {
		return Cipher{}, 0, err
	}
	ct, err := cipherFromMima(dk.Ciphertext)
	if err != nil {
		clear(dk.Plaintext)
		return Cipher{}, 0, err
	}
	h, err := s.addKey(dk.Plaintext)
	return ct, h, err
}

// GenerateKeyWithEPK makes a session key from the server's DRBG and
// returns it encrypted to pub, with its handle.
func (s *Session) GenerateKeyWithEPK(ctx context.Context, bits, alg uint32, pub *ecdsa.PublicKey) (Cipher, uintptr, error) {
	if err := checkBits(bits); err != nil {
		return Cipher{}, 0, err
	}
	if err := checkAlg(alg, AlgSM2_3); err != nil {
		return Cipher{}, 0, err
	}
	raw := make([]byte, sm4.BlockSize)
	if err := s.Random(ctx, raw); err != nil {
		return Cipher{}, 0, err
	}
	ct, err := ExternalEncrypt(alg, pub, raw)
	if err != nil {
		clear(raw)
		return Cipher{}, 0, err
	}
	h, err := s.addKey(raw)
	return ct, h, err
}

// ImportKeyWithISK decrypts a session key with the key of index i.
func (s *Session) ImportKeyWithISK(ctx context.Context, i uint32, ct Cipher) (uintptr, error) {
	raw, err := s.Decrypt(ctx, i, ct)
	if err != nil {
		return 0, err
	}
	return s.addKey(raw)
}

// ImportKey makes a clear 16-byte key a session key.
func (s *Session) ImportKey(raw []byte) (uintptr, error) {
	return s.addKey(append([]byte(nil), raw...))
}

// checkSM4 refuses a key-wrapping algorithm that is not SM4.
func checkSM4(alg uint32) error {
	if alg&^0xFF != AlgSM4 {
		return fail(AlgNotSupport, "algorithm 0x%08X is not SM4", alg)
	}
	return nil
}

// GenerateKeyWithKEK makes a session key wrapped by the sm4 key of index
// kek: the wrapped form is mima's ciphertext string.
func (s *Session) GenerateKeyWithKEK(ctx context.Context, bits, alg, kek uint32) ([]byte, uintptr, error) {
	if err := checkBits(bits); err != nil {
		return nil, 0, err
	}
	if err := checkSM4(alg); err != nil {
		return nil, 0, err
	}
	name, c, err := s.key(kek)
	if err != nil {
		return nil, 0, err
	}
	dk, err := c.Crypto().DataKey(ctx, name, sdk.DataKeyRequest{Kind: "sm4"})
	if err != nil {
		return nil, 0, err
	}
	h, err := s.addKey(dk.Plaintext)
	return []byte(dk.Ciphertext), h, err
}

// ImportKeyWithKEK unwraps a session key made by GenerateKeyWithKEK.
func (s *Session) ImportKeyWithKEK(ctx context.Context, alg, kek uint32, wrapped []byte) (uintptr, error) {
	if err := checkSM4(alg); err != nil {
		return 0, err
	}
	name, c, err := s.key(kek)
	if err != nil {
		return 0, err
	}
	r, err := c.Crypto().Decrypt(ctx, name, sdk.DecryptRequest{Ciphertext: string(wrapped)})
	if err != nil {
		return 0, err
	}
	return s.addKey(r.Plaintext)
}

// ExchangeEnvelope decrypts ct with the key of index i and encrypts the
// plaintext to pub, which never leaves the library.
func (s *Session) ExchangeEnvelope(ctx context.Context, i, alg uint32, pub *ecdsa.PublicKey, ct Cipher) (Cipher, error) {
	if err := checkAlg(alg, AlgSM2_3); err != nil {
		return Cipher{}, err
	}
	pt, err := s.Decrypt(ctx, i, ct)
	if err != nil {
		return Cipher{}, err
	}
	defer clear(pt)
	return ExternalEncrypt(alg, pub, pt)
}

// DestroyKey wipes the session key of handle h.
func (s *Session) DestroyKey(h uintptr) error {
	k, ok := s.keys.Take(h)
	if !ok {
		return fail(KeyNotExist, "no session key of handle %#x", h)
	}
	k.Wipe()
	return nil
}

// sessionKey returns the session key of handle h.
func (s *Session) sessionKey(h uintptr) (*SM4Key, error) {
	k, ok := s.keys.Get(h)
	if !ok {
		return nil, fail(KeyNotExist, "no session key of handle %#x", h)
	}
	return k, nil
}

// Crypt encrypts (or decrypts) data with the session key of handle h in
// the mode of alg: SM4 ECB and CBC take whole blocks (the standard pads
// nothing), CTR any length. iv is updated in place so that the next call
// continues the stream: the last ciphertext block (CBC), the next counter
// (CTR).
func (s *Session) Crypt(h uintptr, alg uint32, iv, data []byte, encrypt bool) ([]byte, error) {
	k, err := s.sessionKey(h)
	if err != nil {
		return nil, err
	}
	if alg&^0xFF != AlgSM4 {
		return nil, fail(AlgNotSupport, "algorithm 0x%08X is not SM4", alg)
	}
	if alg != AlgSM4ECB && len(iv) != sm4.BlockSize {
		return nil, fail(InArgErr, "mode 0x%08X needs a 16-byte IV", alg)
	}
	out := make([]byte, len(data))
	switch alg {
	case AlgSM4ECB, AlgSM4CBC:
		if len(data) == 0 || len(data)%sm4.BlockSize != 0 {
			return nil, fail(InArgErr, "ECB and CBC take whole 16-byte blocks, not %d bytes", len(data))
		}
		modeIV := iv
		if alg == AlgSM4ECB {
			modeIV = nil
		}
		k.Mode(modeIV, encrypt).CryptBlocks(out, data)
		if alg == AlgSM4CBC {
			last := out
			if !encrypt {
				last = data
			}
			copy(iv, last[len(last)-sm4.BlockSize:])
		}
	case AlgSM4CTR:
		cipher.NewCTR(k.block, iv).XORKeyStream(out, data)
		addCounter(iv, uint64((len(data)+sm4.BlockSize-1)/sm4.BlockSize))
	default:
		return nil, fail(AlgModNotSupport, "SM4 mode 0x%08X is not supported (ECB, CBC and CTR are)", alg)
	}
	return out, nil
}

// addCounter adds n to the big-endian 128-bit counter ctr.
func addCounter(ctr []byte, n uint64) {
	for i := len(ctr) - 1; i >= 0 && n > 0; i-- {
		n += uint64(ctr[i])
		ctr[i] = byte(n)
		n >>= 8
	}
}

// MAC is the SM4 CBC-MAC (SGD_SM4_MAC) of whole blocks of data with the
// session key of handle h: the last block of the CBC encryption from iv,
// which is updated to it.
func (s *Session) MAC(h uintptr, alg uint32, iv, data []byte) ([]byte, error) {
	if alg != AlgSM4MAC {
		if alg&^0xFF == AlgSM4 {
			return nil, fail(AlgModNotSupport, "the MAC of SM4 is SGD_SM4_MAC, not 0x%08X", alg)
		}
		return nil, fail(AlgNotSupport, "algorithm 0x%08X is not SM4", alg)
	}
	out, err := s.Crypt(h, AlgSM4CBC, iv, data, true)
	if err != nil {
		return nil, err
	}
	return out[len(out)-sm4.BlockSize:], nil
}

// HashInit starts an SM3 hash; with pub, the hash starts with Z of pub
// and id (the default id when id is empty), as for an SM2 signature.
func (s *Session) HashInit(alg uint32, pub *ecdsa.PublicKey, id []byte) error {
	if alg != AlgSM3 {
		return fail(AlgNotSupport, "hash algorithm 0x%08X is not SM3", alg)
	}
	h := sm3.New()
	if pub != nil {
		if len(id) == 0 {
			id = []byte("1234567812345678")
		}
		z, err := sm2.CalculateZA(pub, id)
		if err != nil {
			return &Error{Code: InArgErr, Err: err}
		}
		h.Write(z)
	}
	s.mu.Lock()
	s.hash = h
	s.mu.Unlock()
	return nil
}

// HashUpdate adds data to the hash in progress.
func (s *Session) HashUpdate(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hash == nil {
		return fail(StepErr, "no hash in progress: call SDF_HashInit first")
	}
	s.hash.Write(data)
	return nil
}

// HashFinal ends the hash in progress and returns the digest.
func (s *Session) HashFinal() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hash == nil {
		return nil, fail(StepErr, "no hash in progress: call SDF_HashInit first")
	}
	d := s.hash.Sum(nil)
	s.hash = nil
	return d, nil
}
