package sec

import (
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"

	gmcipher "github.com/emmansun/gmsm/cipher"
	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

// CCM parameters of IEEE 1609.2-2022 5.3.8: 12-byte nonce, 16-byte tag.
const (
	nonceSize = 12
	tagSize   = 16
	keySize   = 16
)

// Recipient is whom data is encrypted for: their public encryption key
// and how the recipient info names them.
type Recipient struct {
	Key *ecdsa.PublicKey
	ID  ieee1609.HashedId8
	// Kind is how ID identifies the key: CertRecipient (a certificate's
	// HashedId8), SignedDataRecipient (the HashedId8 of the signed data
	// that carried the key) or REKRecipient (a response encryption key).
	Kind RecipientKind
}

// RecipientKind selects the RecipientInfo alternative.
type RecipientKind int

// The public-key recipient kinds of IEEE 1609.2-2022 6.3.31.
const (
	CertRecipient RecipientKind = iota
	SignedDataRecipient
	REKRecipient
)

// Encrypt encrypts plaintext with a fresh key under CCM and wraps the key
// to the recipient with SM2 (the Chinese profile); the IEEE profile's
// ECIES is not implemented.
func (p *Profile) Encrypt(rand io.Reader, plaintext []byte, to Recipient) (*ieee1609.EncryptedData, error) {
	if !p.SM() {
		return nil, errors.New("encryption under the IEEE profile (ECIES) is not implemented")
	}
	key := make([]byte, keySize)
	if _, err := io.ReadFull(rand, key); err != nil {
		return nil, err
	}
	defer clear(key)
	ct, err := p.seal(rand, key, plaintext)
	if err != nil {
		return nil, err
	}
	wrapped, err := sm2.Encrypt(rand, to.Key, key, sm2.NewPlainEncrypterOpts(sm2.MarshalCompressed, sm2.C1C3C2))
	if err != nil {
		return nil, fmt.Errorf("wrapping the data key: %w", err)
	}
	ek, err := p.wrappedKey(wrapped)
	if err != nil {
		return nil, err
	}
	pk := &ieee1609.PKRecipientInfo{RecipientID: to.ID, EncKey: ieee1609.EncryptedDataEncryptionKey{EcencSm2256: ek}}
	var ri ieee1609.RecipientInfo
	switch to.Kind {
	case SignedDataRecipient:
		ri.SignedDataRecipInfo = pk
	case REKRecipient:
		ri.RekRecipInfo = pk
	default:
		ri.CertRecipInfo = pk
	}
	return &ieee1609.EncryptedData{Recipients: []ieee1609.RecipientInfo{ri}, Ciphertext: ct}, nil
}

// seal is CCM under key with a fresh nonce.
func (p *Profile) seal(rand io.Reader, key, plaintext []byte) (ieee1609.SymmetricCiphertext, error) {
	aead, err := p.ccm(key)
	if err != nil {
		return ieee1609.SymmetricCiphertext{}, err
	}
	c := &ieee1609.CcmCiphertext{}
	if _, err := io.ReadFull(rand, c.Nonce[:]); err != nil {
		return ieee1609.SymmetricCiphertext{}, err
	}
	c.CcmCiphertext = aead.Seal(nil, c.Nonce[:], plaintext, nil)
	if p.SM() {
		return ieee1609.SymmetricCiphertext{Sm4Ccm: c}, nil
	}
	return ieee1609.SymmetricCiphertext{Aes128Ccm: c}, nil
}

func (p *Profile) ccm(key []byte) (interface {
	Seal(dst, nonce, plaintext, ad []byte) []byte
	Open(dst, nonce, ciphertext, ad []byte) ([]byte, error)
}, error) {
	block, err := p.NewBlock(key)
	if err != nil {
		return nil, err
	}
	return gmcipher.NewCCMWithNonceAndTagSize(block, nonceSize, tagSize)
}

// wrappedKey splits SM2's C1 (compressed) || C3 || C2 into the fields of
// an EcencP256EncryptedKey in the profile's order.
func (p *Profile) wrappedKey(ct []byte) (*ieee1609.EcencP256EncryptedKey, error) {
	if len(ct) != 1+32+32+keySize || (ct[0] != 2 && ct[0] != 3) {
		return nil, errors.New("unexpected SM2 ciphertext form")
	}
	var x [32]byte
	copy(x[:], ct[1:33])
	ek := &ieee1609.EcencP256EncryptedKey{}
	if ct[0] == 2 {
		ek.V.CompressedY0 = &x
	} else {
		ek.V.CompressedY1 = &x
	}
	c3, c2 := ct[33:65], ct[65:]
	if p.WrappedKeyOrder == OrderTC {
		copy(ek.CT[:], append(append([]byte{}, c3...), c2...))
	} else {
		copy(ek.CT[:], append(append([]byte{}, c2...), c3...))
	}
	return ek, nil
}

// ErrNotRecipient means the encrypted data names no recipient with the
// given id.
var ErrNotRecipient = errors.New("not a recipient of the encrypted data")

// Decrypt opens data encrypted for the recipient id with key, whose
// Decrypt takes SM2 ciphertext as C1 || C3 || C2 (gmsm's default and the
// key service's).
func (p *Profile) Decrypt(ed *ieee1609.EncryptedData, id ieee1609.HashedId8, key crypto.Decrypter) ([]byte, error) {
	var ek *ieee1609.EcencP256EncryptedKey
	for _, r := range ed.Recipients {
		for _, pk := range []*ieee1609.PKRecipientInfo{r.CertRecipInfo, r.SignedDataRecipInfo, r.RekRecipInfo} {
			if pk != nil && pk.RecipientID == id {
				ek = pk.EncKey.EcencSm2256
			}
		}
	}
	if ek == nil {
		return nil, ErrNotRecipient
	}
	c1 := []byte{2}
	x := ek.V.CompressedY0
	if ek.V.CompressedY1 != nil {
		c1[0], x = 3, ek.V.CompressedY1
	}
	if x == nil {
		return nil, errors.New("the wrapped key's point is not compressed")
	}
	c1 = append(c1, x[:]...)
	ct := ek.CT[:]
	if p.WrappedKeyOrder == OrderCT {
		ct = append(append([]byte{}, ek.CT[keySize:]...), ek.CT[:keySize]...)
	}
	key16, err := key.Decrypt(nil, append(c1, ct...), nil)
	if err != nil {
		return nil, fmt.Errorf("unwrapping the data key: %w", err)
	}
	defer clear(key16)
	c := ed.Ciphertext.Sm4Ccm
	if c == nil {
		return nil, errors.New("the ciphertext is not SM4-CCM")
	}
	aead, err := p.ccm(key16)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, c.Nonce[:], c.CcmCiphertext, nil)
	if err != nil {
		return nil, errors.New("the ciphertext does not authenticate")
	}
	return pt, nil
}
