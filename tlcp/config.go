package tlcp

import (
	"crypto"
	"crypto/rand"
	"io"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// DefaultSessionLifetime is how long a session may be resumed when
// Config.SessionLifetime is zero.
const DefaultSessionLifetime = 12 * time.Hour

// Certificate is a TLCP identity: the dual certificates of GB/T 38636-2020
// 6.4.5.3. The signing certificate authenticates the peer; the encryption
// certificate carries the key used to establish the pre-master secret.
//
// The private keys are interfaces so that keys held in an HSM or in a key
// service can be used. SignKey signs with SM2 and must accept
// sm2.DefaultSM2SignerOpts (the message is passed unhashed and the signer
// computes SM3(Z || M) with the default user ID), as smx509 does when it
// signs certificates. EncKey must be a crypto.Decrypter that decrypts ASN.1
// SM2 ciphertexts (GM/T 0009) for the ECC suites, and an *sm2.PrivateKey or
// an SM2KeyExchanger for the ECDHE suites.
type Certificate struct {
	// SignCertificate is the DER signing certificate.
	SignCertificate []byte
	// SignKey is the private key of SignCertificate.
	SignKey crypto.Signer
	// EncCertificate is the DER encryption certificate.
	EncCertificate []byte
	// EncKey is the private key of EncCertificate.
	EncKey crypto.PrivateKey
	// Intermediates are DER CA certificates sent after the two leaf
	// certificates, issuer of the leaves first.
	Intermediates [][]byte
}

// chain returns the certificate_list of a Certificate message: signing
// certificate first, encryption certificate second (GB/T 38636-2020 6.4.5.3).
func (c *Certificate) chain() [][]byte {
	out := make([][]byte, 0, 2+len(c.Intermediates))
	out = append(out, c.SignCertificate, c.EncCertificate)
	return append(out, c.Intermediates...)
}

// Config configures a TLCP client or server. A Config may be reused and
// shared once passed to a function of this package; it must not be modified
// after that.
type Config struct {
	// Rand is the source of entropy for randoms, session IDs, CBC record
	// IVs, pre-master secrets, ephemeral keys and signatures. Nil means
	// crypto/rand.Reader.
	Rand io.Reader
	// Time returns the current time, used for the gmt_unix_time field of the
	// randoms, certificate validity and session lifetimes. Nil means
	// time.Now.
	Time func() time.Time

	// Certificate is the server's identity, or the client's identity
	// presented when the server requests client authentication.
	Certificate *Certificate
	// GetCertificate, if not nil, gives a server its identity at each
	// handshake instead of Certificate, e.g. one reloaded from files.
	GetCertificate func() *Certificate

	// RootCAs verifies the server's certificates; nil means the system pool
	// as loaded by smx509.SystemCertPool.
	RootCAs *smx509.CertPool
	// ServerName is checked against the server's signing certificate and is
	// the client session cache key. A client needs it unless
	// InsecureSkipVerify is set.
	ServerName string
	// InsecureSkipVerify disables chain and host name verification of the
	// server's certificates. Key usage checks still apply.
	InsecureSkipVerify bool

	// ClientAuth is the server's policy for client certificates.
	ClientAuth ClientAuthType
	// ClientCAs verifies client certificates; its subjects are sent in the
	// CertificateRequest.
	ClientCAs *smx509.CertPool

	// VerifyPeerCertificate, if not nil, is called after the peer's
	// certificates passed the standard checks, with the raw certificates in
	// wire order (signing, encryption, intermediates) and the verified
	// chains of the signing certificate. It is the place for revocation
	// checks (CRL, OCSP). An error aborts the handshake; an error wrapping
	// ErrCertificateRevoked is reported to the peer as certificate_revoked,
	// any other as bad_certificate.
	VerifyPeerCertificate func(rawCerts [][]byte, verifiedChains [][]*smx509.Certificate) error

	// CipherSuites lists the enabled suites in preference order; nil means
	// all four suites of this package, GCM before CBC and ECC before ECDHE.
	// The server follows its own order.
	CipherSuites []uint16
	// ECDHEPrefixedClientParams makes a client send the ECDHE
	// ClientKeyExchange as GB/T 38636-2020 6.4.5.8 writes it, ClientECDHParams
	// inside opaque<1..2^16-1> (a 2-byte length first). By default the
	// client sends ECParameters || ECPoint with no length, the form the
	// widely deployed open-source TLCP servers (Tongsuo among them) expect and
	// check, aborting on the prefixed one. A server accepts both forms.
	ECDHEPrefixedClientParams bool

	// ServerSessionCache stores sessions on the server for resumption by
	// session ID (GB/T 38636-2020 6.4.5.2.1). Nil disables resumption.
	ServerSessionCache ServerSessionCache
	// ClientSessionCache stores sessions on the client, keyed by
	// ServerName or else by the remote address. Nil disables resumption.
	ClientSessionCache ClientSessionCache
	// SessionLifetime bounds how long after its full handshake a session may
	// be resumed; zero means DefaultSessionLifetime.
	SessionLifetime time.Duration
}

func (c *Config) rand() io.Reader {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Reader
}

func (c *Config) time() time.Time {
	if c.Time != nil {
		return c.Time()
	}
	return time.Now()
}

func (c *Config) sessionLifetime() time.Duration {
	if c.SessionLifetime > 0 {
		return c.SessionLifetime
	}
	return DefaultSessionLifetime
}

func (c *Config) cipherSuites() []uint16 {
	if c.CipherSuites != nil {
		return c.CipherSuites
	}
	return defaultCipherSuites
}
