package device

import (
	"context"
	"crypto/ecdsa"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/sm9"
)

// SM9 key types (GB/T 38635, GM/T 0044). A master key is a key generation
// centre (KGC): it extracts the user keys of identities. A user key kept
// in mima (a hosted identity key) is a key of a user type.
const (
	SM9SignMaster KeyType = "sm9-sign-master" // SM9 signature master key
	SM9EncMaster  KeyType = "sm9-enc-master"  // SM9 encryption master key (also key encapsulation and exchange)
	SM9SignUser   KeyType = "sm9-sign-user"   // an identity's SM9 signature key
	SM9EncUser    KeyType = "sm9-enc-user"    // an identity's SM9 encryption key
)

// SM9 identifiers of the key functions, GM/T 0044 part 5 (hid).
const (
	SM9SignHID     byte = 0x01
	SM9ExchangeHID byte = 0x02
	SM9EncHID      byte = 0x03
)

// SM9Mode selects the cipher of SM9 encryption (GM/T 0044 part 4).
type SM9Mode uint8

// SM9 encryption modes.
const (
	SM9XOR    SM9Mode = iota // the KDF stream XORed with the message
	SM9SM4CBC                // SM4-CBC with PKCS#7 padding, keyed by the KDF
)

// SM9Master is implemented by SM9 master keys: a key generation centre.
type SM9Master interface {
	Key
	// MasterPublicKey returns the DER master public key: a BIT STRING
	// holding the uncompressed point (GM/T 0044, SM9 application
	// specification), the form gmsm's Unmarshal*MasterPublicKeyASN1 read.
	MasterPublicKey() []byte
	// Extract returns the stored form of the user key of identity uid
	// under function identifier hid: a key of type SM9SignUser for a
	// signature master, SM9EncUser for an encryption master.
	Extract(ctx context.Context, uid []byte, hid byte) ([]byte, error)
}

// SM9Signer is implemented by SM9 signature user keys.
type SM9Signer interface {
	Key
	// Sign signs msg and returns the DER SM9Signature
	// SEQUENCE { h OCTET STRING, S BIT STRING }.
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// SM9Decrypter is implemented by SM9 encryption user keys. uid is the
// identity the key belongs to.
type SM9Decrypter interface {
	Key
	// Decrypt decrypts a DER SM9Cipher (either SM9Mode); any failure is
	// ErrDecrypt.
	Decrypt(ctx context.Context, uid, ciphertext []byte) ([]byte, error)
	// Decapsulate returns the kLen-byte key encapsulated in c, the
	// uncompressed C point (GM/T 0044 part 4, key encapsulation); any
	// failure is ErrDecrypt.
	Decapsulate(ctx context.Context, uid, c []byte, kLen int) ([]byte, error)
	// Respond answers an SM9 key exchange (GM/T 0044 part 3, steps
	// B1-B7) that peer started with ra, the uncompressed point R_A: it
	// returns R_B, the confirmation S_B and the shared kLen-byte key.
	Respond(ctx context.Context, uid, peer, ra []byte, kLen int) (rb, sb, key []byte, err error)
}

// sm9UserKey is the stored form of a user key: the private point and
// its master public key, each a BIT STRING of the uncompressed point.
type sm9UserKey struct {
	Private asn1.BitString
	Master  asn1.BitString
}

func bits(b []byte) asn1.BitString { return asn1.BitString{Bytes: b, BitLength: 8 * len(b)} }

// generateSM9 returns a fresh master key: its 32-byte private scalar.
func (s *Software) generateSM9(t KeyType) ([]byte, error) {
	var b []byte
	switch t {
	case SM9SignMaster:
		m, err := sm9.GenerateSignMasterKey(s.rand)
		if err != nil {
			return nil, fmt.Errorf("device: generating an SM9 master key: %w", err)
		}
		b = m.Bytes()
	case SM9EncMaster:
		m, err := sm9.GenerateEncryptMasterKey(s.rand)
		if err != nil {
			return nil, fmt.Errorf("device: generating an SM9 master key: %w", err)
		}
		b = m.Bytes()
	default:
		return nil, fmt.Errorf("%w %q: an SM9 user key is extracted from its master key, not generated: %w", ErrUnsupportedType, string(t), ErrNotSupported)
	}
	return b, nil
}

// openSM9 opens SM9 material: a master key's 32-byte scalar or a user
// key's sm9UserKey.
func (s *Software) openSM9(t KeyType, material []byte) (Key, error) {
	switch t {
	case SM9SignMaster, SM9EncMaster:
		if len(material) != SM2KeySize {
			return nil, &MaterialError{fmt.Sprintf("%s key material must be a %d-byte private scalar", t, SM2KeySize)}
		}
		der, err := asn1.Marshal(new(big.Int).SetBytes(material))
		if err != nil {
			return nil, fmt.Errorf("device: SM9 master key: %w", err)
		}
		k := &sm9Master{typ: t, raw: material}
		if t == SM9SignMaster {
			k.sign, err = sm9.UnmarshalSignMasterPrivateKeyASN1(der)
		} else {
			k.enc, err = sm9.UnmarshalEncryptMasterPrivateKeyASN1(der)
		}
		if err != nil {
			return nil, &MaterialError{string(t) + " key material must be a private scalar in [1, n-1]"}
		}
		k.rand = s.rand
		return k, nil
	case SM9SignUser, SM9EncUser:
		k := &sm9User{typ: t, stored: material, rand: s.rand}
		var err error
		if k.sign, k.enc, err = ParseSM9User(t, material); err != nil {
			return nil, err
		}
		return k, nil
	}
	return nil, unsupported(t)
}

// ParseSM9User reads the stored form of an SM9 user key of type t (also
// the form the KGC delivers): SEQUENCE { private point, master public key },
// each a BIT STRING of the uncompressed point. It returns the signature
// key (SM9SignUser) or the encryption key (SM9EncUser), with its master
// public key set; a bad form is a *MaterialError.
func ParseSM9User(t KeyType, material []byte) (*sm9.SignPrivateKey, *sm9.EncryptPrivateKey, error) {
	var u sm9UserKey
	if rest, err := asn1.Unmarshal(material, &u); err != nil || len(rest) > 0 {
		return nil, nil, &MaterialError{string(t) + " key material must be a SEQUENCE of the private point and the master public key"}
	}
	var sign *sm9.SignPrivateKey
	var enc *sm9.EncryptPrivateKey
	var err error
	switch t {
	case SM9SignUser:
		sign, err = openSignUser(u)
	case SM9EncUser:
		enc, err = openEncUser(u)
	default:
		return nil, nil, unsupported(t)
	}
	if err != nil {
		return nil, nil, &MaterialError{string(t) + " key material holds points that are not on the curve"}
	}
	return sign, enc, nil
}

func openSignUser(u sm9UserKey) (*sm9.SignPrivateKey, error) {
	priv, err := sm9.UnmarshalSignPrivateKeyRaw(u.Private.Bytes)
	if err != nil {
		return nil, err
	}
	m, err := sm9.UnmarshalSignMasterPublicKeyRaw(u.Master.Bytes)
	if err != nil {
		return nil, err
	}
	priv.SetMasterPublic(m)
	return priv, nil
}

func openEncUser(u sm9UserKey) (*sm9.EncryptPrivateKey, error) {
	priv, err := sm9.UnmarshalEncryptPrivateKeyRaw(u.Private.Bytes)
	if err != nil {
		return nil, err
	}
	m, err := sm9.UnmarshalEncryptMasterPublicKeyRaw(u.Master.Bytes)
	if err != nil {
		return nil, err
	}
	priv.SetMasterPublic(m)
	return priv, nil
}

// sm9Master is an opened SM9 master key; one of sign and enc is set.
type sm9Master struct {
	typ  KeyType
	raw  []byte
	sign *sm9.SignMasterPrivateKey
	enc  *sm9.EncryptMasterPrivateKey
	rand io.Reader
}

var (
	_ SM9Master = (*sm9Master)(nil)
	_ Wrapper   = (*sm9Master)(nil)
)

// Type returns SM9SignMaster or SM9EncMaster.
func (k *sm9Master) Type() KeyType { return k.typ }

// MasterPublicKey returns the DER master public key.
func (k *sm9Master) MasterPublicKey() []byte {
	var der []byte
	var err error
	if k.sign != nil {
		der, err = k.sign.PublicKey().MarshalASN1()
	} else {
		der, err = k.enc.PublicKey().MarshalASN1()
	}
	if err != nil { // a BIT STRING of a fixed-size point always encodes
		panic("device: encoding an SM9 master public key: " + err.Error())
	}
	return der
}

// Extract returns the stored form of the user key of uid.
func (k *sm9Master) Extract(_ context.Context, uid []byte, hid byte) ([]byte, error) {
	var u sm9UserKey
	if k.sign != nil {
		priv, err := k.sign.GenerateUserKey(uid, hid)
		if err != nil {
			return nil, fmt.Errorf("device: extracting an SM9 user key: %w", err)
		}
		u = sm9UserKey{bits(priv.Bytes()), bits(k.sign.PublicKey().Bytes())}
	} else {
		priv, err := k.enc.GenerateUserKey(uid, hid)
		if err != nil {
			return nil, fmt.Errorf("device: extracting an SM9 user key: %w", err)
		}
		u = sm9UserKey{bits(priv.Bytes()), bits(k.enc.PublicKey().Bytes())}
	}
	return asn1.Marshal(u)
}

// Wrap returns the master private scalar SM2-encrypted to pub.
func (k *sm9Master) Wrap(_ context.Context, pub *ecdsa.PublicKey, form SM2Form) ([]byte, error) {
	return encryptSM2(k.rand, pub, k.raw, form)
}

// sm9User is an opened SM9 user key; one of sign and enc is set.
type sm9User struct {
	typ    KeyType
	stored []byte
	sign   *sm9.SignPrivateKey
	enc    *sm9.EncryptPrivateKey
	rand   io.Reader
}

var (
	_ SM9Signer    = (*sm9User)(nil)
	_ SM9Decrypter = (*sm9User)(nil)
	_ Wrapper      = (*sm9User)(nil)
)

// Type returns SM9SignUser or SM9EncUser.
func (k *sm9User) Type() KeyType { return k.typ }

// Sign signs msg with a signature user key.
func (k *sm9User) Sign(_ context.Context, msg []byte) ([]byte, error) {
	if k.sign == nil {
		return nil, fmt.Errorf("%w: an %s key does not sign", ErrNotSupported, k.typ)
	}
	return sm9.SignASN1(k.rand, k.sign, msg)
}

// Decrypt decrypts a DER SM9Cipher.
func (k *sm9User) Decrypt(_ context.Context, uid, ciphertext []byte) ([]byte, error) {
	if k.enc == nil {
		return nil, fmt.Errorf("%w: an %s key does not decrypt", ErrNotSupported, k.typ)
	}
	if len(ciphertext) == 0 {
		return nil, ErrDecrypt
	}
	pt, err := sm9.DecryptASN1(k.enc, uid, ciphertext)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// Decapsulate opens an SM9 key encapsulation.
func (k *sm9User) Decapsulate(_ context.Context, uid, c []byte, kLen int) ([]byte, error) {
	if k.enc == nil {
		return nil, fmt.Errorf("%w: an %s key does not decapsulate", ErrNotSupported, k.typ)
	}
	key, err := sm9.UnwrapKey(k.enc, uid, c, kLen)
	if err != nil {
		return nil, ErrDecrypt
	}
	return key, nil
}

// Respond answers a key exchange started by peer.
func (k *sm9User) Respond(_ context.Context, uid, peer, ra []byte, kLen int) (rb, sb, key []byte, err error) {
	if k.enc == nil {
		return nil, nil, nil, fmt.Errorf("%w: an %s key does not exchange keys", ErrNotSupported, k.typ)
	}
	ke := k.enc.NewKeyExchange(uid, peer, kLen, true)
	defer ke.Destroy()
	if rb, sb, err = ke.RespondKeyExchange(k.rand, SM9ExchangeHID, ra); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: the key exchange point R_A is not valid", ErrDecrypt)
	}
	// The optional step B10 (checking S_A) needs a second message; the
	// initiator's check of S_B already confirms the exchange to it.
	if key, err = ke.ConfirmInitiator(nil); err != nil {
		return nil, nil, nil, fmt.Errorf("device: SM9 key exchange: %w", err)
	}
	return rb, sb, key, nil
}

// Wrap returns the stored user key SM2-encrypted to pub.
func (k *sm9User) Wrap(_ context.Context, pub *ecdsa.PublicKey, form SM2Form) ([]byte, error) {
	return encryptSM2(k.rand, pub, k.stored, form)
}
