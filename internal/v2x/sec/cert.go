package sec

import (
	"crypto"
	"errors"
	"fmt"
	"io"

	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

// Issue makes an explicit certificate of tbs signed by key, the key of
// issuer, or self-signed when issuer is nil (IEEE 1609.2-2022 6.4.2).
// tbs must carry the subject's verification key.
func (p *Profile) Issue(rand io.Reader, tbs ieee1609.ToBeSignedCertificate, issuer *ieee1609.Certificate, key crypto.Signer) (*ieee1609.Certificate, error) {
	if tbs.VerifyKeyIndicator.VerificationKey == nil {
		return nil, errors.New("an explicit certificate needs a verification key")
	}
	c := &ieee1609.Certificate{Version: 3, Type: ieee1609.CertTypeExplicit, ToBeSigned: tbs}
	if issuer == nil {
		alg := p.HashAlg
		c.Issuer.Self = &alg
	} else {
		id, err := HashedID8(issuer)
		if err != nil {
			return nil, err
		}
		if p.SM() {
			c.Issuer.Sm3AndDigest = &id
		} else {
			c.Issuer.Sha256AndDigest = &id
		}
	}
	enc, err := coer.Marshal(&c.ToBeSigned)
	if err != nil {
		return nil, err
	}
	sig, err := p.Sign(rand, key, enc, issuer)
	if err != nil {
		return nil, err
	}
	c.Signature = &sig
	return c, nil
}

// CheckCertSignature verifies the signature of the explicit certificate c
// under issuer, or under its own key when issuer is nil. It checks that c
// names issuer.
func (p *Profile) CheckCertSignature(c, issuer *ieee1609.Certificate) error {
	if c.Type != ieee1609.CertTypeExplicit || c.Signature == nil {
		return errors.New("not an explicit certificate")
	}
	signerCert := c
	if issuer != nil {
		signerCert = issuer
		want, err := HashedID8(issuer)
		if err != nil {
			return err
		}
		if got, ok := IssuerDigest(c); !ok || got != want {
			return errors.New("the certificate names another issuer")
		}
	} else if c.Issuer.Self == nil {
		return errors.New("the certificate is not self-signed")
	}
	if signerCert.ToBeSigned.VerifyKeyIndicator.VerificationKey == nil {
		return errors.New("the issuer certificate has no verification key")
	}
	pub, err := VerifyingKey(*signerCert.ToBeSigned.VerifyKeyIndicator.VerificationKey)
	if err != nil {
		return err
	}
	enc, err := coer.Marshal(&c.ToBeSigned)
	if err != nil {
		return err
	}
	if err := p.Verify(pub, enc, issuer, *c.Signature); err != nil {
		return fmt.Errorf("certificate signature: %w", err)
	}
	return nil
}

// IssuerDigest is the HashedId8 of c's issuer, when c is not self-signed.
func IssuerDigest(c *ieee1609.Certificate) (ieee1609.HashedId8, bool) {
	switch is := c.Issuer; {
	case is.Sha256AndDigest != nil:
		return *is.Sha256AndDigest, true
	case is.Sm3AndDigest != nil:
		return *is.Sm3AndDigest, true
	case is.Sha384AndDigest != nil:
		return *is.Sha384AndDigest, true
	}
	return ieee1609.HashedId8{}, false
}
