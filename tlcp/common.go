package tlcp

import "fmt"

// VersionTLCP is the TLCP protocol version {1, 1} carried in every record
// header, ClientHello and ServerHello (GB/T 38636-2020 6.3 and 6.4.5.2).
const VersionTLCP uint16 = 0x0101

// Record layer limits (GB/T 38636-2020 6.3): a plaintext fragment is at most
// 2^14 bytes and a protected fragment at most 2^14+2048 bytes.
const (
	maxPlaintext    = 1 << 14
	maxCiphertext   = maxPlaintext + 2048
	recordHeaderLen = 5
	// maxHandshake bounds one handshake message; certificate chains are the
	// largest messages and stay far below it.
	maxHandshake = 1 << 18
)

// Lengths fixed by the key calculation (GB/T 38636-2020 6.5).
const (
	randomLen       = 32
	masterSecretLen = 48
	preMasterLen    = 48
	verifyDataLen   = 12
	maxSessionIDLen = 32
)

// recordType is the ContentType of a record (GB/T 38636-2020 6.3).
type recordType uint8

const (
	recordTypeChangeCipherSpec recordType = 20
	recordTypeAlert            recordType = 21
	recordTypeHandshake        recordType = 22
	recordTypeApplicationData  recordType = 23
)

// HandshakeType values (GB/T 38636-2020 6.4.5).
const (
	typeHelloRequest       uint8 = 0
	typeClientHello        uint8 = 1
	typeServerHello        uint8 = 2
	typeCertificate        uint8 = 11
	typeServerKeyExchange  uint8 = 12
	typeCertificateRequest uint8 = 13
	typeServerHelloDone    uint8 = 14
	typeCertificateVerify  uint8 = 15
	typeClientKeyExchange  uint8 = 16
	typeFinished           uint8 = 20
)

// ClientCertificateType values of the CertificateRequest message
// (GB/T 38636-2020 6.4.5.5). TLCP SM2 certificates use ecdsa_sign.
const certTypeECDSASign uint8 = 64

// Cipher suites implemented by this package (GB/T 38636-2020 6.4.5.2.1,
// table 2).
const (
	ECDHE_SM4_CBC_SM3 uint16 = 0xe011
	ECC_SM4_CBC_SM3   uint16 = 0xe013
	ECDHE_SM4_GCM_SM3 uint16 = 0xe051
	ECC_SM4_GCM_SM3   uint16 = 0xe053
)

// CipherSuiteName returns the standard name of a cipher suite, such as
// "ECC_SM4_CBC_SM3", or its hexadecimal value when it is unknown.
func CipherSuiteName(id uint16) string {
	if s := suiteByID(id); s != nil {
		return s.name
	}
	return fmt.Sprintf("0x%04X", id)
}

// ClientAuthType says whether a server asks for, and verifies, the client's
// certificates (GB/T 38636-2020 6.4.5.5 and 6.4.5.7).
type ClientAuthType int

const (
	// NoClientCert sends no CertificateRequest. ECDHE suites need the
	// client's encryption certificate, so a server with NoClientCert never
	// selects them.
	NoClientCert ClientAuthType = iota
	// RequestClientCert sends a CertificateRequest and verifies the
	// certificates the client sends, but accepts a client that sends none.
	RequestClientCert
	// RequireAndVerifyClientCert sends a CertificateRequest and fails the
	// handshake unless the client sends certificates that verify.
	RequireAndVerifyClientCert
)

// The two bytes of VersionTLCP as they appear on the wire.
const (
	versionHi = byte(VersionTLCP >> 8)
	versionLo = byte(VersionTLCP & 0xff)
)
