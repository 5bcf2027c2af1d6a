package ieee1609

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mimacrypto/mima/internal/v2x/coer"
)

// Base types of Ieee1609Dot2BaseTypes (IEEE 1609.2-2022 6.4).

// Fixed-size octet strings.
type (
	HashedId3  [3]byte  // HashedId3: the last 3 bytes of a hash (6.4.3)
	HashedId8  [8]byte  // HashedId8: the last 8 bytes of a hash
	HashedId10 [10]byte // HashedId10, used by hash-based CRLs
	HashedId32 [32]byte // HashedId32
	HashedId48 [48]byte // HashedId48
	LaID       [2]byte  // LaId: a linkage authority's identifier
	Seed       [16]byte // LinkageSeed
	Lv         [9]byte  // LinkageValue
)

// Time32 is seconds since 2004-01-01 00:00:00 UTC (TAI, 6.4.15); Time64
// is microseconds since then.
type (
	Time32 uint32
	Time64 uint64
)

// Psid is a provider service identifier, INTEGER (0..MAX).
type Psid uint64

// ValidityPeriod is a start time and a duration (6.4.14).
type ValidityPeriod struct {
	Start    Time32
	Duration Duration
}

// Duration is a CHOICE of units, each a Uint16 count (6.4.16).
type Duration struct {
	_            coer.Choice
	Microseconds *uint16
	Milliseconds *uint16
	Seconds      *uint16
	Minutes      *uint16
	Hours        *uint16
	SixtyHours   *uint16
	Years        *uint16
}

// GeographicRegion is where a certificate is valid (6.4.17).
type GeographicRegion struct {
	_                 coer.Choice
	_                 coer.Extensible
	CircularRegion    *CircularRegion
	RectangularRegion []RectangularRegion
	PolygonalRegion   []TwoDLocation
	IdentifiedRegion  []IdentifiedRegion
	Unknown           *coer.UnknownExtension `coer:"unknown"`
}

// CircularRegion is a centre and a radius in metres.
type CircularRegion struct {
	Center TwoDLocation
	Radius uint16
}

// RectangularRegion is bounded by its north-west and south-east corners.
type RectangularRegion struct {
	NorthWest TwoDLocation
	SouthEast TwoDLocation
}

// TwoDLocation is a latitude and a longitude in 1/10 micro-degrees.
type TwoDLocation struct {
	Latitude  int32 // -900000000..900000001 (900000001: unknown)
	Longitude int32 // -1799999999..1800000001
}

// ThreeDLocation adds the elevation in decimetres (offset encoding, 6.4.34).
type ThreeDLocation struct {
	Latitude  int32
	Longitude int32
	Elevation uint16
}

// IdentifiedRegion names a country, or regions or subregions of one.
type IdentifiedRegion struct {
	_                    coer.Choice
	_                    coer.Extensible
	CountryOnly          *uint16
	CountryAndRegions    *CountryAndRegions
	CountryAndSubregions *CountryAndSubregions
	Unknown              *coer.UnknownExtension `coer:"unknown"`
}

// CountryAndRegions is a UN country code and regions within it.
type CountryAndRegions struct {
	CountryOnly uint16
	Regions     []uint8
}

// CountryAndSubregions is a UN country code and subregions of its regions.
type CountryAndSubregions struct {
	CountryOnly         uint16
	RegionAndSubregions []RegionAndSubregions
}

// RegionAndSubregions is a region and subregions within it.
type RegionAndSubregions struct {
	Region     uint8
	Subregions []uint16
}

// EccP256CurvePoint is a point on a 256-bit curve (P-256, brainpoolP256r1
// or the SM2 curve), compressed or not (6.4.23).
type EccP256CurvePoint struct {
	_                coer.Choice
	XOnly            *[32]byte
	Fill             *coer.Null
	CompressedY0     *[32]byte
	CompressedY1     *[32]byte
	UncompressedP256 *UncompressedPoint
}

// UncompressedPoint is both coordinates of a 256-bit point.
type UncompressedPoint struct {
	X [32]byte
	Y [32]byte
}

// EccP384CurvePoint is a point on a 384-bit curve.
type EccP384CurvePoint struct {
	_                coer.Choice
	XOnly            *[48]byte
	Fill             *coer.Null
	CompressedY0     *[48]byte
	CompressedY1     *[48]byte
	UncompressedP384 *UncompressedP384
}

// UncompressedP384 is both coordinates of a 384-bit point.
type UncompressedP384 struct {
	X [48]byte
	Y [48]byte
}

// Signature is an ECDSA or SM2 signature (6.4.28).
type Signature struct {
	_                             coer.Choice
	_                             coer.Extensible
	EcdsaNistP256Signature        *EcdsaP256Signature
	EcdsaBrainpoolP256r1Signature *EcdsaP256Signature
	EcdsaBrainpoolP384r1Signature *EcdsaP384Signature    `coer:"ext"`
	EcdsaNistP384Signature        *EcdsaP384Signature    `coer:"ext"`
	Sm2Signature                  *EcsigP256Signature    `coer:"ext"`
	Unknown                       *coer.UnknownExtension `coer:"unknown"`
}

// EcdsaP256Signature is an ECDSA signature whose r may be given as a point.
type EcdsaP256Signature struct {
	RSig EccP256CurvePoint
	SSig [32]byte
}

// EcdsaP384Signature is the 384-bit form.
type EcdsaP384Signature struct {
	RSig EccP384CurvePoint
	SSig [48]byte
}

// EcsigP256Signature is an SM2 signature: r and s, 32 bytes each.
type EcsigP256Signature struct {
	RSig [32]byte
	SSig [32]byte
}

// Enumerations of HashAlgorithm and SymmAlgorithm (6.4.25, 6.4.31).
const (
	HashSHA256 = 0
	HashSHA384 = 1
	HashSM3    = 2

	SymmAES128CCM = 0
	SymmSM4CCM    = 1
)

// EciesP256EncryptedKey is an ECIES-wrapped AES key (5.3.5).
type EciesP256EncryptedKey struct {
	V EccP256CurvePoint
	C [16]byte
	T [16]byte
}

// EcencP256EncryptedKey is an SM2-wrapped SM4 key. IEEE 1609.2 orders it
// {v, c (16), t (32)}; the Chinese profile is reported to order it {v,
// t, c}. Both orders encode to the same 48 bytes after v, so the wire
// type keeps them together and a profile splits them.
type EcencP256EncryptedKey struct {
	V  EccP256CurvePoint
	CT [48]byte
}

// EncryptionKey is a public or symmetric key to encrypt a response to.
type EncryptionKey struct {
	_         coer.Choice
	Public    *PublicEncryptionKey
	Symmetric *SymmetricEncryptionKey
}

// PublicEncryptionKey is a public key with the symmetric algorithm that
// goes with it (6.4.38).
type PublicEncryptionKey struct {
	SupportedSymmAlg uint8 `coer:"enum"`
	PublicKey        BasePublicEncryptionKey
}

// BasePublicEncryptionKey is an ECIES or SM2 encryption key.
type BasePublicEncryptionKey struct {
	_                    coer.Choice
	_                    coer.Extensible
	EciesNistP256        *EccP256CurvePoint
	EciesBrainpoolP256r1 *EccP256CurvePoint
	EcencSm2             *EccP256CurvePoint     `coer:"ext"`
	Unknown              *coer.UnknownExtension `coer:"unknown"`
}

// PublicVerificationKey is a signature verification key (6.4.40).
type PublicVerificationKey struct {
	_                    coer.Choice
	_                    coer.Extensible
	EcdsaNistP256        *EccP256CurvePoint
	EcdsaBrainpoolP256r1 *EccP256CurvePoint
	EcdsaBrainpoolP384r1 *EccP384CurvePoint     `coer:"ext"`
	EcdsaNistP384        *EccP384CurvePoint     `coer:"ext"`
	EcsigSm2             *EccP256CurvePoint     `coer:"ext"`
	Unknown              *coer.UnknownExtension `coer:"unknown"`
}

// SymmetricEncryptionKey is a 128-bit AES or SM4 key.
type SymmetricEncryptionKey struct {
	_         coer.Choice
	_         coer.Extensible
	Aes128Ccm *[16]byte
	Sm4Ccm    *[16]byte              `coer:"ext"`
	Unknown   *coer.UnknownExtension `coer:"unknown"`
}

// PsidSsp is an application permission: a PSID and its service specific
// permissions.
type PsidSsp struct {
	Psid Psid
	Ssp  *ServiceSpecificPermissions `coer:"optional"`
}

// ServiceSpecificPermissions are opaque or a bitmap.
type ServiceSpecificPermissions struct {
	_         coer.Choice
	_         coer.Extensible
	Opaque    []byte
	BitmapSsp []byte                 `coer:"ext"`
	Unknown   *coer.UnknownExtension `coer:"unknown"`
}

// PsidSspRange is a permission to issue or request a PSID.
type PsidSspRange struct {
	Psid     Psid
	SspRange *SspRange `coer:"optional"`
}

// SspRange is the SSPs a holder may grant.
type SspRange struct {
	_              coer.Choice
	_              coer.Extensible
	Opaque         [][]byte
	All            *coer.Null
	BitmapSspRange *BitmapSspRange        `coer:"ext"`
	Unknown        *coer.UnknownExtension `coer:"unknown"`
}

// BitmapSspRange is a value and a mask of SSP bits.
type BitmapSspRange struct {
	SspValue   []byte
	SspBitmask []byte
}

// GroupLinkageValue is the linkage value of a group certificate.
type GroupLinkageValue struct {
	JValue [4]byte
	Value  [9]byte
}

// Extension is an extension identified by an ExtId, its content an open
// type whose form the id gives.
type Extension struct {
	ID      uint8
	Content coer.Open
}

// MarshalCOER encodes a Psid as INTEGER (0..MAX) (X.696 10.6): a length
// and the minimal unsigned big-endian octets.
func (p Psid) MarshalCOER() ([]byte, error) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(p))
	n := 7
	for n > 0 && b[7-n] == 0 {
		n--
	}
	v := b[7-n:]
	return append([]byte{byte(len(v))}, v...), nil
}

// UnmarshalCOER decodes a Psid and returns the bytes after it.
func (p *Psid) UnmarshalCOER(data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, errors.New("psid: truncated")
	}
	n := int(data[0])
	switch {
	case n == 0 || n > 8:
		return nil, fmt.Errorf("psid: %d octets", n)
	case len(data) < 1+n:
		return nil, errors.New("psid: truncated")
	case n > 1 && data[1] == 0:
		return nil, errors.New("psid: non-canonical leading zero")
	}
	var v uint64
	for _, c := range data[1 : 1+n] {
		v = v<<8 | uint64(c)
	}
	*p = Psid(v)
	return data[1+n:], nil
}
