package pki

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"time"

	"github.com/emmansun/gmsm/cfca"
	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// KeyFormat is how IssueKeyPair returns a generated private key.
type KeyFormat string

// Key formats.
const (
	// Enveloped is a GB/T 35276 SM2EnvelopedKey (DER) for the SM2 public
	// key KeyPairRequest.WrappingKey, which gmsm's
	// sm2.ParseEnvelopedPrivateKey opens.
	Enveloped KeyFormat = "enveloped"
	// PKCS8 is an encrypted PKCS#8 EncryptedPrivateKeyInfo (DER, RFC
	// 5958) under KeyPairRequest.Password: PBES2 with PBKDF2-HMAC-SM3
	// (hmacWithSM3 1.2.156.10197.1.401.2, 16-byte salt,
	// WithPBKDF2Iterations) and SM4-CBC (1.2.156.10197.1.104.2), which
	// gmsm's pkcs8 reads. OpenSSL 3.0 does not know the hmacWithSM3 PRF.
	PKCS8 KeyFormat = "pkcs8"
	// CFCA is the key and certificate in the SM2 file format of CFCA SADK
	// (gmsm cfca.MarshalSM2), under KeyPairRequest.Password. It is not
	// PKCS#12: its SM4-CBC key and IV are SM3-KDF(password), without salt
	// or iterations, so only a strong random password protects it. gmsm
	// v0.44.0 has no PKCS#12 (RFC 7292) encoder for SM algorithms.
	CFCA KeyFormat = "cfca-sm2"
)

// minPassword is the shortest password for PKCS8 and CFCA keys.
const minPassword = 8

// KeyPairRequest asks a CA to generate a key pair and certify it.
type KeyPairRequest struct {
	Profile string
	Subject Name
	SANs    SANs
	TTL     time.Duration
	Format  KeyFormat
	// WrappingKey is the SM2 public key (PEM "PUBLIC KEY") the private
	// key is enveloped to, for Enveloped.
	WrappingKey string
	// Password protects the private key, for PKCS8 and CFCA: at least 8
	// bytes.
	Password []byte
}

// KeyPair is a generated key pair: its certificate and the private key in
// the requested format.
type KeyPair struct {
	Certificate Certificate
	Format      KeyFormat
	PrivateKey  []byte
}

// IssueKeyPair generates an SM2 key pair, certifies it and returns the
// private key protected as req.Format says. The private key is not kept.
func (s *Service) IssueKeyPair(ctx context.Context, tenant, ca string, req KeyPairRequest) (KeyPair, error) {
	var wrapTo *ecdsa.PublicKey
	switch req.Format {
	case Enveloped:
		if len(req.Password) > 0 {
			return KeyPair{}, fault.Invalid("an enveloped key takes a wrapping key, not a password")
		}
		var err error
		if wrapTo, err = parsePublicKeyPEM(req.WrappingKey); err != nil {
			return KeyPair{}, err
		}
	case PKCS8, CFCA:
		if req.WrappingKey != "" || len(req.Password) < minPassword {
			return KeyPair{}, fault.Invalid("a %s key takes a password of at least %d bytes, and no wrapping key", req.Format, minPassword)
		}
	default:
		return KeyPair{}, fault.Invalid("unknown key format %q; use %q, %q or %q", req.Format, Enveloped, PKCS8, CFCA)
	}
	subject, err := nameDER(req.Subject)
	if err != nil {
		return KeyPair{}, err
	}
	priv, err := sm2.GenerateKey(s.rand)
	if err != nil {
		return KeyPair{}, fault.Unexpected(err)
	}
	c, err := s.issueOne(ctx, tenant, ca, req.Profile, req.Subject.CommonName, &issuance{
		kind: Generated, subject: subject, sans: req.SANs, pub: &priv.PublicKey, ttl: req.TTL,
	})
	if err != nil {
		return KeyPair{}, err
	}
	var key []byte
	switch req.Format {
	case Enveloped:
		key, err = sm2.MarshalEnvelopedPrivateKey(s.rand, wrapTo, priv)
	case PKCS8:
		key, err = s.encryptPKCS8(priv, req.Password)
	case CFCA:
		var cert *smx509.Certificate
		if cert, err = smx509.ParseCertificate(c.DER); err == nil {
			key, err = cfca.MarshalSM2(req.Password, priv, cert)
		}
	}
	if err != nil {
		return KeyPair{}, fault.Unexpected(err)
	}
	return KeyPair{Certificate: c, Format: req.Format, PrivateKey: key}, nil
}

// encryptPKCS8 encodes priv as an EncryptedPrivateKeyInfo (see PKCS8),
// with the service's randomness for salt and IV.
func (s *Service) encryptPKCS8(priv *sm2.PrivateKey, password []byte) ([]byte, error) {
	plain, err := smx509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	enc := pkcs.NewPBESEncrypter(pkcs.SM4CBC, pkcs.NewPBKDF2Opts(pkcs.SM3, 16, s.pbkdf2Iter))
	alg, data, err := enc.Encrypt(s.rand, password, plain)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		Algorithm pkix.AlgorithmIdentifier
		Data      []byte
	}{*alg, data})
}
