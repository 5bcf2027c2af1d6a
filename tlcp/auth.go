package tlcp

import (
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// signSM2 signs msg with SM2 and the default user ID "1234567812345678"
// (GB/T 35276-2017), the signer hashing SM3(Z || msg) itself.
func signSM2(key crypto.Signer, rand io.Reader, msg []byte) ([]byte, error) {
	if !sm2.IsSM2PublicKey(key.Public()) {
		return nil, errors.New("tlcp: signing key is not an SM2 key")
	}
	sig, err := key.Sign(rand, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, fmt.Errorf("tlcp: SM2 signing: %w", err)
	}
	return sig, nil
}

// verifySM2 checks an ASN.1 SM2 signature over msg with the default user ID.
func verifySM2(cert *smx509.Certificate, msg, sig []byte) error {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return errors.New("tlcp: signing certificate does not hold an SM2 key")
	}
	if !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
		return errors.New("tlcp: SM2 signature verification failed")
	}
	return nil
}

// sm2Public returns the SM2 public key of a certificate.
func sm2Public(cert *smx509.Certificate) (*ecdsa.PublicKey, error) {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, fmt.Errorf("tlcp: certificate %q does not hold an SM2 key", cert.Subject)
	}
	return pub, nil
}

// peerIdentity is the parsed Certificate message of a peer.
type peerIdentity struct {
	certs  []*smx509.Certificate // wire order
	sign   *smx509.Certificate
	enc    *smx509.Certificate // nil for a client that sent only a signing certificate
	chains [][]*smx509.Certificate
}

// parsePeerCertificates parses a certificate_list. Servers always send
// the signing and encryption certificates first (GB/T 38636-2020 6.4.5.3);
// a client may send a signing certificate alone, so its second certificate
// is taken as the encryption certificate only when it is not a CA.
func parsePeerCertificates(raw [][]byte, fromServer bool) (*peerIdentity, AlertError, error) {
	id := &peerIdentity{}
	for i, der := range raw {
		cert, err := smx509.ParseCertificate(der)
		if err != nil {
			return nil, alertBadCertificate, fmt.Errorf("tlcp: parsing peer certificate %d: %w", i, err)
		}
		if _, err := sm2Public(cert); err != nil && i < 2 {
			return nil, alertUnsupportedCertificate, err
		}
		id.certs = append(id.certs, cert)
	}
	switch {
	case fromServer && len(id.certs) < 2:
		return nil, alertBadCertificate, fmt.Errorf("tlcp: server sent %d certificates, TLCP needs a signing and an encryption certificate", len(id.certs))
	case len(id.certs) == 0:
		return id, 0, nil
	}
	id.sign = id.certs[0]
	if len(id.certs) > 1 && (fromServer || !id.certs[1].IsCA) {
		id.enc = id.certs[1]
	}
	return id, 0, nil
}

// checkKeyUsage enforces the key usages of the dual certificates: the
// signing certificate must allow digitalSignature, the encryption
// certificate keyEncipherment (ECC) or keyAgreement (ECDHE).
func (id *peerIdentity) checkKeyUsage(ecdhe bool) error {
	if id.sign.KeyUsage&smx509.KeyUsageDigitalSignature == 0 {
		if id.enc != nil && id.enc.KeyUsage&smx509.KeyUsageDigitalSignature != 0 {
			return errors.New("tlcp: certificates in the wrong order: the first (signing) certificate lacks digitalSignature key usage but the second has it; the signing certificate must come first")
		}
		return errors.New("tlcp: signing certificate lacks digitalSignature key usage")
	}
	if id.enc == nil {
		return nil
	}
	want, name := smx509.KeyUsageKeyEncipherment, "keyEncipherment"
	if ecdhe {
		want, name = smx509.KeyUsageKeyAgreement, "keyAgreement"
	}
	if id.enc.KeyUsage&want == 0 {
		return fmt.Errorf("tlcp: encryption certificate lacks %s key usage", name)
	}
	return nil
}

// verify builds chains for both leaf certificates to roots at time now and,
// for the signing certificate, checks the host name when dnsName is set.
func (id *peerIdentity) verify(roots *smx509.CertPool, dnsName string, usage smx509.ExtKeyUsage, c *Config) (AlertError, error) {
	inter := smx509.NewCertPool()
	first := 1
	if id.enc != nil {
		first = 2
	}
	for _, cert := range id.certs[first:] {
		inter.AddCert(cert)
	}
	opts := smx509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		DNSName:       dnsName,
		CurrentTime:   c.time(),
		KeyUsages:     []smx509.ExtKeyUsage{usage},
	}
	chains, err := id.sign.Verify(opts)
	if err != nil {
		return verifyAlert(err), fmt.Errorf("tlcp: verifying signing certificate: %w", err)
	}
	id.chains = chains
	if id.enc != nil {
		opts.DNSName = ""
		opts.KeyUsages = []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny}
		if _, err := id.enc.Verify(opts); err != nil {
			return verifyAlert(err), fmt.Errorf("tlcp: verifying encryption certificate: %w", err)
		}
	}
	return 0, nil
}

// verifyAlert maps a verification error to its alert (GB/T 38636-2020
// 6.4.3).
func verifyAlert(err error) AlertError {
	var invalid smx509.CertificateInvalidError
	var unknown smx509.UnknownAuthorityError
	switch {
	case errors.As(err, &invalid) && invalid.Reason == smx509.Expired:
		return alertCertificateExpired
	case errors.As(err, &unknown):
		return alertUnknownCA
	}
	return alertBadCertificate
}

// runVerifyHook calls Config.VerifyPeerCertificate.
func (id *peerIdentity) runVerifyHook(c *Config) (AlertError, error) {
	if c.VerifyPeerCertificate == nil {
		return 0, nil
	}
	raw := make([][]byte, len(id.certs))
	for i, cert := range id.certs {
		raw[i] = cert.Raw
	}
	if err := c.VerifyPeerCertificate(raw, id.chains); err != nil {
		if errors.Is(err, ErrCertificateRevoked) {
			return alertCertificateRevoked, fmt.Errorf("tlcp: peer certificate rejected: %w", err)
		}
		return alertBadCertificate, fmt.Errorf("tlcp: peer certificate rejected: %w", err)
	}
	return 0, nil
}
