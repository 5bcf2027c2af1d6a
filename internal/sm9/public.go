package sm9

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/emmansun/gmsm/sm9"

	"github.com/mimacrypto/mima/internal/device"
)

// PEM labels of master public keys, as GmSSL writes them. The block holds
// the DER master public key: a BIT STRING of the uncompressed point, 0x04
// || x || y, on G2 (129 bytes) for a signature master and on G1 (65
// bytes) for an encryption master (GM/T 0044 and the SM9 application
// specification GM/T 0080; gmsm's Parse*MasterPublicKeyPEM read it).
const (
	PEMSignMaster = "SM9 SIGN MASTER PUBLIC KEY"
	PEMEncMaster  = "SM9 ENC MASTER PUBLIC KEY"
)

// EncodePEM returns the PEM form of the DER master public key of a key of
// type t.
func EncodePEM(t device.KeyType, der []byte) string {
	label := PEMSignMaster
	if t == device.SM9EncMaster {
		label = PEMEncMaster
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der}))
}

// masters caches parsed master public keys by their DER: parsing a G2
// point and its pairing tables costs more than a verification's lookup.
var masters sync.Map // string(der) -> *sm9.SignMasterPublicKey or *sm9.EncryptMasterPublicKey

var errEmptyMaster = errors.New("sm9: empty master public key")

// ParseSignMaster parses a DER signature master public key.
func ParseSignMaster(der []byte) (*sm9.SignMasterPublicKey, error) {
	if m, ok := masters.Load(string(der)); ok {
		if pub, ok := m.(*sm9.SignMasterPublicKey); ok {
			return pub, nil
		}
	}
	if len(der) == 0 { // gmsm reads der[0] unchecked
		return nil, errEmptyMaster
	}
	pub, err := sm9.UnmarshalSignMasterPublicKeyASN1(der)
	if err != nil {
		return nil, fmt.Errorf("sm9: signature master public key: %w", err)
	}
	masters.Store(string(der), pub)
	return pub, nil
}

// ParseEncMaster parses a DER encryption master public key.
func ParseEncMaster(der []byte) (*sm9.EncryptMasterPublicKey, error) {
	if m, ok := masters.Load(string(der)); ok {
		if pub, ok := m.(*sm9.EncryptMasterPublicKey); ok {
			return pub, nil
		}
	}
	if len(der) == 0 { // gmsm reads der[0] unchecked
		return nil, errEmptyMaster
	}
	pub, err := sm9.UnmarshalEncryptMasterPublicKeyASN1(der)
	if err != nil {
		return nil, fmt.Errorf("sm9: encryption master public key: %w", err)
	}
	masters.Store(string(der), pub)
	return pub, nil
}

// VerifyWith reports whether sig, a DER SM9Signature, is a signature of
// msg by identity uid (function identifier hid) under the master public
// key pub. A malformed signature is simply not valid.
func VerifyWith(pub *sm9.SignMasterPublicKey, uid []byte, hid byte, msg, sig []byte) bool {
	if len(sig) == 0 {
		return false
	}
	return sm9.VerifyASN1(pub, uid, hid, msg, sig)
}

// EncryptTo encrypts msg to identity uid under pub in the given mode and
// returns the DER SM9Cipher SEQUENCE { EnType INTEGER, C1 BIT STRING,
// C3 OCTET STRING, CipherText OCTET STRING }.
func EncryptTo(rand io.Reader, pub *sm9.EncryptMasterPublicKey, uid []byte, hid byte, msg []byte, mode device.SM9Mode) ([]byte, error) {
	var opts sm9.EncrypterOpts = sm9.DefaultEncrypterOpts
	if mode == device.SM9SM4CBC {
		opts = sm9.SM4CBCEncrypterOpts
	}
	return sm9.EncryptASN1(rand, pub, uid, hid, msg, opts)
}

// Encapsulate returns a fresh kLen-byte key for identity uid and its
// encapsulation C, the uncompressed point (GM/T 0044 part 4).
func Encapsulate(rand io.Reader, pub *sm9.EncryptMasterPublicKey, uid []byte, hid byte, kLen int) (key, c []byte, err error) {
	return sm9.WrapKey(rand, pub, uid, hid, kLen)
}
