// Package sec is the cryptography of IEEE 1609.2 secured data as the
// SCMS uses it, for the Chinese profile (SM2, SM3, SM4; YD/T 3957-2021)
// and the IEEE profile (ECDSA P-256, SHA-256, AES-128): certificate
// hashes (HashedId8/3/10), the signing input H(H(tbs) || H(signer)) of
// IEEE 1609.2-2022 5.3.1.2.2, explicit certificates, signed data, and
// encryption of a symmetric key to a public key with CCM for the data.
//
// Signing keys are crypto.Signers, so authority keys stay in the key
// service. SM2 signatures follow GB/T 45112-2024 (YD/T 3957-2021), as its
// worked example shows: e = SM3(Z_A || tbs), the COER encoding itself,
// with Z_A computed with ID_A = SM3(the signer's certificate); for
// self-signed data, which the example does not cover, ID_A is the
// profile's SelfSignedID: GB/T 32918's default 1234567812345678, under
// which a real self-signed root of CAICT verifies.
package sec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/elliptic"
	"crypto/sha256"
	"hash"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/v2x/butterfly"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/linkage"
)

// KeyOrder is the order of the fields of an SM2-wrapped key.
type KeyOrder int

// The orders of EcencP256EncryptedKey after v: IEEE 1609.2-2022 has c
// (16 bytes) then t (32); the Chinese profile is reported to have t then
// c, which is SM2's own C1||C3||C2 (GB/T 32918.4).
const (
	OrderCT KeyOrder = iota // {v, c, t}: IEEE 1609.2
	OrderTC                 // {v, t, c}: Chinese profile
)

// Profile is one set of algorithms and identifiers.
type Profile struct {
	Name string
	// Curve is SM2's or P-256; Hash SM3 or SHA-256; HashAlg the
	// HashAlgorithm enumeration value of Hash.
	Curve   elliptic.Curve
	NewHash func() hash.Hash
	HashAlg uint8
	// SelfSignedID is ID_A of the Z_A of self-signed SM2 data (root
	// certificates, self-signed requests; SM2 only). GB/T 45112-2024's
	// example covers only data with a signer certificate, whose ID_A is
	// SM3 of that certificate. CN uses GB/T 32918's default
	// 1234567812345678: CAICT's published self-signed root verifies under
	// it and not under SM3 of the empty string. It must not be empty.
	SelfSignedID []byte
	// NewBlock makes the CCM block cipher: SM4 or AES-128. SymmAlg is its
	// SymmAlgorithm enumeration value.
	NewBlock func(key []byte) (cipher.Block, error)
	SymmAlg  uint8
	// WrappedKeyOrder is the field order of SM2-wrapped keys.
	WrappedKeyOrder KeyOrder
	// SecurityMgmtPsid and CrlPsid are the AIDs of SCMS messages and CRLs:
	// 35 and 256 in IEEE 1609.2.1, 3627 and 3628 in the Chinese profile
	// (unconfirmed against YD/T 3957's text).
	SecurityMgmtPsid ieee1609.Psid
	CrlPsid          ieee1609.Psid
	// ExplicitOnly refuses implicit certificates (the Chinese profile
	// reserves them).
	ExplicitOnly bool
	// Butterfly and Linkage are the key expansion and linkage suites.
	Butterfly butterfly.Suite
	Linkage   linkage.Suite
}

// SM returns whether the profile signs with SM2.
func (p *Profile) SM() bool { return p.Curve == sm2.P256() }

// CN is the Chinese profile: SM2, SM3, SM4-CCM, AIDs 3627 and 3628,
// {v, t, c}, explicit certificates only.
var CN = &Profile{
	Name: "cn", Curve: sm2.P256(), NewHash: sm3.New, HashAlg: ieee1609.HashSM3,
	NewBlock: sm4.NewCipher, SymmAlg: ieee1609.SymmSM4CCM,
	SelfSignedID:     []byte("1234567812345678"),
	WrappedKeyOrder:  OrderTC,
	SecurityMgmtPsid: 3627, CrlPsid: 3628,
	ExplicitOnly: true,
	Butterfly:    butterfly.SM4SM2, Linkage: linkage.SM3SM4,
}

// IEEE is the IEEE 1609.2 / 1609.2.1 profile with P-256, SHA-256 and
// AES-128-CCM. mima verifies with it (and its vectors run with it); its
// authorities sign with SM2, under CN.
var IEEE = &Profile{
	Name: "ieee", Curve: elliptic.P256(), NewHash: sha256.New, HashAlg: ieee1609.HashSHA256,
	NewBlock: aes.NewCipher, SymmAlg: ieee1609.SymmAES128CCM,
	WrappedKeyOrder:  OrderCT,
	SecurityMgmtPsid: 35, CrlPsid: 256,
	Butterfly: butterfly.AESP256, Linkage: linkage.SHA256AES,
}

// Hash returns H(data) under the profile's hash.
func (p *Profile) Hash(data ...[]byte) []byte {
	h := p.NewHash()
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(nil)
}
