package cms

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"hash"
	"math/big"

	"github.com/emmansun/gmsm/sm3"
)

// The ASN.1 of RFC 3161 (and RFC 5035's ESSCertIDv2), as far as this
// package reads and writes it.

type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

type tstInfo struct {
	Version        int
	Policy         asn1.RawValue // OBJECT IDENTIFIER, see oid.go
	MessageImprint messageImprint
	SerialNumber   *big.Int
	GenTime        asn1.RawValue    // GeneralizedTime, see gentime.go
	Accuracy       accuracy         `asn1:"optional"`
	Ordering       bool             `asn1:"optional"`
	Nonce          *big.Int         `asn1:"optional"`
	TSA            asn1.RawValue    `asn1:"optional,tag:0"`
	Extensions     []pkix.Extension `asn1:"optional,tag:1"`
}

type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

type timeStampResp struct {
	Status pkiStatusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

type pkiStatusInfo struct {
	Status       int
	StatusString []asn1.RawValue `asn1:"optional"`
	FailInfo     asn1.BitString  `asn1:"optional"`
}

// signingCertificate is SigningCertificateV2 (RFC 5035) and, with
// ESSCertIDs that have no hash algorithm (SHA-1), SigningCertificate (RFC
// 2634).
type signingCertificate struct {
	Certs    []essCertID
	Policies []asn1.RawValue `asn1:"optional"`
}

// essCertID is ESSCertIDv2, whose hash algorithm defaults to SHA-256, or
// ESSCertID, which has none and uses SHA-1.
type essCertID struct {
	HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"`
	CertHash      []byte
	IssuerSerial  issuerSerial `asn1:"optional"`
}

type issuerSerial struct {
	Issuer []asn1.RawValue // GeneralNames
	Serial *big.Int
}

// PKIStatus values (RFC 3161 section 2.4.2).
const (
	statusGranted         = 0
	statusGrantedWithMods = 1
	statusRejection       = 2
)

// PKIFailureInfo bits (RFC 3161 section 2.4.2).
const (
	failBadAlg              = 0
	failBadRequest          = 2
	failBadDataFormat       = 5
	failUnacceptedPolicy    = 15
	failUnacceptedExtension = 16
	failSystemFailure       = 25
)

// failInfo returns the PKIFailureInfo with one bit set, as DER encodes a
// named bit list: no trailing zero bits.
func failInfo(bit int) asn1.BitString {
	b := make([]byte, bit/8+1)
	b[bit/8] = 0x80 >> (bit % 8)
	return asn1.BitString{Bytes: b, BitLength: bit + 1}
}

// imprintHash is a hash algorithm a message imprint may use.
type imprintHash struct {
	name string
	oid  asn1.ObjectIdentifier
	new  func() hash.Hash
}

// imprintHashes are SM3, SHA-256 and SHA-1, by preference.
var imprintHashes = []imprintHash{
	{"sm3", oidSM3, sm3.New},
	{"sha256", oidSHA256, sha256.New},
	{"sha1", oidSHA1, sha1.New},
}

// hashOf returns the imprint hash of an AlgorithmIdentifier with absent
// or NULL parameters.
func hashOf(a pkix.AlgorithmIdentifier) (imprintHash, bool) {
	if !noParams(a) {
		return imprintHash{}, false
	}
	for _, h := range imprintHashes {
		if h.oid.Equal(a.Algorithm) {
			return h, true
		}
	}
	return imprintHash{}, false
}

// hashNamed returns the imprint hash called name.
func hashNamed(name string) (imprintHash, bool) {
	for _, h := range imprintHashes {
		if h.name == name {
			return h, true
		}
	}
	return imprintHash{}, false
}

// sum returns the hash of b.
func (h imprintHash) sum(b []byte) []byte {
	d := h.new()
	d.Write(b)
	return d.Sum(nil)
}
