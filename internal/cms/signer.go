package cms

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
)

// SignerOptions say who signs and how: the key, its certificate, and
// what goes with the signature.
type SignerOptions struct {
	// Key is the sm2 key of the key service that signs (a name or alias);
	// the latest version signs.
	Key string
	// Certificate is the signer's certificate, one PEM block
	// "CERTIFICATE", which must certify Key's latest version. "" is the
	// latest certificate the CA issued for Key (pki.CertificateForKey).
	Certificate string
	// IncludeChain adds the chain of the issuing CA, up to its root, to
	// the certificates of the SignedData; the signer's own certificate is
	// always added. It needs a certificate issued by a CA of the tenant.
	IncludeChain bool
	// SigningTime is the signing-time attribute; zero is now. It must lie
	// within the certificate's validity.
	SigningTime time.Time
	// TSA, when set, names a timestamp authority of the tenant that
	// stamps the signature value: the token goes into the unsigned
	// attribute id-aa-signatureTimeStampToken (RFC 3161 appendix A).
	TSA string
}

// signer is a key of the key service with the certificate it signs
// under.
type signer struct {
	key         crypto.Signer
	cert        *smx509.Certificate
	chain       []*smx509.Certificate // the issuing CA's chain, with IncludeChain
	signingTime time.Time
	tsa         string
}

// certificates returns the certificates the signer puts into a
// SignedData.
func (sg *signer) certificates() []*smx509.Certificate {
	return append([]*smx509.Certificate{sg.cert}, sg.chain...)
}

// loadSigner resolves o to a key that may sign now, with a certificate
// that certifies it and is neither expired nor revoked (nor on hold) now
// and at the signing time.
func (s *Service) loadSigner(ctx context.Context, tenant string, o SignerOptions) (*signer, error) {
	if _, err := s.store.Backend(); err != nil {
		return nil, err
	}
	key, err := s.keys.Signer(ctx, tenant, o.Key)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	sg := &signer{key: key, signingTime: o.SigningTime.UTC(), tsa: o.TSA}
	if o.SigningTime.IsZero() {
		sg.signingTime = now
	}
	rec, err := s.signerCertificate(ctx, tenant, o)
	if err != nil {
		return nil, err
	}
	if sg.cert, err = parseCertificate(rec.DER); err != nil {
		return nil, err
	}
	if !key.Public().(*ecdsa.PublicKey).Equal(sg.cert.PublicKey) {
		return nil, fault.New(fault.CertificateKeyMismatch, "the certificate (serial %x) does not certify the latest version of key %q", sg.cert.SerialNumber, o.Key)
	}
	for _, t := range []time.Time{now, sg.signingTime} {
		if t.Before(sg.cert.NotBefore) || t.After(sg.cert.NotAfter) {
			return nil, fault.New(fault.CertificateExpired, "the signer's certificate is valid from %s to %s, not at %s",
				sg.cert.NotBefore.Format(time.RFC3339), sg.cert.NotAfter.Format(time.RFC3339), t.Format(time.RFC3339))
		}
	}
	if rec.State == pki.Revoked || rec.State == pki.OnHold {
		return nil, fault.New(fault.CertificateRevoked, "the signer's certificate was revoked (%s) at %s", rec.Reason, rec.RevokedAt.Format(time.RFC3339))
	}
	if o.IncludeChain {
		if rec.CA == "" {
			return nil, fault.Invalid("include_chain needs a certificate issued by a CA of the tenant")
		}
		chain, err := s.ca.Chain(ctx, tenant, rec.CA)
		if err != nil {
			return nil, err
		}
		if sg.chain, err = parseCertificatesPEM(chain); err != nil {
			return nil, fault.Unexpected(err)
		}
	}
	return sg, nil
}

// signerCertificate returns the certificate of o: the CA's record of it
// when a CA of the tenant issued it, else a record with only DER (valid,
// no CA).
func (s *Service) signerCertificate(ctx context.Context, tenant string, o SignerOptions) (pki.Certificate, error) {
	if o.Certificate == "" {
		info, err := s.keys.Get(ctx, tenant, o.Key)
		if err != nil {
			return pki.Certificate{}, err
		}
		return s.ca.CertificateForKey(ctx, tenant, info.Name)
	}
	cert, err := parseCertificatePEM(o.Certificate)
	if err != nil {
		return pki.Certificate{}, err
	}
	if rec, ok, err := s.issued(ctx, tenant, cert); err != nil || ok {
		return rec, err
	}
	return pki.Certificate{DER: cert.Raw, State: pki.Valid}, nil
}

// issued returns the CA's record of cert when a CA of the tenant issued
// it.
func (s *Service) issued(ctx context.Context, tenant string, cert *smx509.Certificate) (pki.Certificate, bool, error) {
	if cert.SerialNumber.Sign() <= 0 {
		return pki.Certificate{}, false, nil
	}
	rec, err := s.ca.GetCertificate(ctx, tenant, cert.SerialNumber.Text(16))
	switch {
	case fault.Is(err, fault.CertificateNotFound) || fault.Is(err, fault.InvalidArgument):
		return pki.Certificate{}, false, nil
	case err != nil:
		return pki.Certificate{}, false, err
	}
	return rec, bytes.Equal(rec.DER, cert.Raw), nil
}
