package tlcp

import (
	"crypto"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
)

// errMalformed marks key exchange messages that do not parse; they are
// answered with decode_error.
var errMalformed = errors.New("malformed")

// keyExchangeAlert picks the alert for a key exchange failure: decode_error
// for a malformed message, otherwise def.
func keyExchangeAlert(err error, def AlertError) AlertError {
	if errors.Is(err, errMalformed) {
		return alertDecodeError
	}
	return def
}

// eccSignedParams is the content the server signs in ServerKeyExchange for
// the ECC suites (GB/T 38636-2020 6.4.5.4): client_random || server_random
// || ASN.1Cert<1..2^24-1> of the encryption certificate, i.e. the
// encryption certificate with its 3-byte length prefix.
func eccSignedParams(clientRandom, serverRandom, encCert []byte) []byte {
	var b cryptobyte.Builder
	b.AddBytes(clientRandom)
	b.AddBytes(serverRandom)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(encCert) })
	return b.BytesOrPanic()
}

// vector16 returns prefix followed by data as an opaque<0..2^16-1>
// vector, the encoding of signatures and key exchange values.
func vector16(prefix, data []byte) []byte {
	var b cryptobyte.Builder
	b.AddBytes(prefix)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(data) })
	return b.BytesOrPanic()
}

// parseSignature reads signature<0..2^16-1> that must end s.
func parseSignature(s cryptobyte.String) ([]byte, bool) {
	var sig cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&sig) || !s.Empty() || len(sig) == 0 {
		return nil, false
	}
	return sig, true
}

// eccServerKeyExchange builds the ECC ServerKeyExchange body: the SM2
// signature, by the signing key, of eccSignedParams.
func eccServerKeyExchange(c *Config, cert *Certificate, clientRandom, serverRandom []byte) ([]byte, error) {
	sig, err := signSM2(cert.SignKey, c.rand(), eccSignedParams(clientRandom, serverRandom, cert.EncCertificate))
	if err != nil {
		return nil, err
	}
	return vector16(nil, sig), nil
}

// verifyECCServerKeyExchange checks the ECC ServerKeyExchange against the
// server's certificates.
func verifyECCServerKeyExchange(body []byte, id *peerIdentity, clientRandom, serverRandom []byte) error {
	sig, ok := parseSignature(cryptobyte.String(body))
	if !ok {
		return fmt.Errorf("tlcp: %w: ECC ServerKeyExchange", errMalformed)
	}
	return verifySM2(id.sign, eccSignedParams(clientRandom, serverRandom, id.enc.Raw), sig)
}

// eccClientKeyExchange draws the pre-master secret (client_version ||
// 46 random bytes) and encrypts it with SM2 to the server's encryption
// certificate. The body is ECCEncryptedPreMasterSecret<0..2^16-1> holding
// the GM/T 0009 ASN.1 SM2 ciphertext (GB/T 38636-2020 6.4.5.8).
func eccClientKeyExchange(c *Config, id *peerIdentity) (preMaster, body []byte, err error) {
	pub, err := sm2Public(id.enc)
	if err != nil {
		return nil, nil, err
	}
	preMaster = make([]byte, preMasterLen)
	preMaster[0], preMaster[1] = versionHi, versionLo
	if _, err := io.ReadFull(c.rand(), preMaster[2:]); err != nil {
		return nil, nil, fmt.Errorf("tlcp: drawing pre-master secret: %w", err)
	}
	ct, err := sm2.EncryptASN1(c.rand(), pub, preMaster)
	if err != nil {
		return nil, nil, fmt.Errorf("tlcp: SM2 encryption of the pre-master secret: %w", err)
	}
	return preMaster, vector16(nil, ct), nil
}

// eccDecryptPreMaster recovers the pre-master secret with the encryption
// key. As with RSA in TLS, a ciphertext that fails to decrypt, or decrypts
// to the wrong length or version, yields a random pre-master secret, so the
// failure only shows as a Finished mismatch and gives no decryption oracle.
func eccDecryptPreMaster(c *Config, cert *Certificate, body []byte) ([]byte, error) {
	s := cryptobyte.String(body)
	var ct cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&ct) || !s.Empty() {
		return nil, fmt.Errorf("tlcp: %w: ECC ClientKeyExchange", errMalformed)
	}
	dec, ok := cert.EncKey.(crypto.Decrypter)
	if !ok {
		return nil, errors.New("tlcp: encryption key does not implement crypto.Decrypter")
	}
	preMaster := make([]byte, preMasterLen)
	if _, err := io.ReadFull(c.rand(), preMaster); err != nil {
		return nil, fmt.Errorf("tlcp: drawing pre-master secret: %w", err)
	}
	plain, err := dec.Decrypt(c.rand(), ct, sm2.ASN1DecrypterOpts)
	if err == nil && len(plain) == preMasterLen {
		good := subtle.ConstantTimeByteEq(plain[0], versionHi) & subtle.ConstantTimeByteEq(plain[1], versionLo)
		subtle.ConstantTimeCopy(good, preMaster, plain)
	}
	return preMaster, nil
}
