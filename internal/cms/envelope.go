package cms

import (
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"time"

	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// maxRecipients bounds the recipients of an envelope.
const maxRecipients = 100

// The ASN.1 of EnvelopedData (RFC 5652 section 6) with key transport
// recipients, the only kind SM2 uses.

type envelopedData struct {
	Version              int
	OriginatorInfo       asn1.RawValue   `asn1:"optional,tag:0"`
	RecipientInfos       []asn1.RawValue `asn1:"set"`
	EncryptedContentInfo encryptedContentInfo
	UnprotectedAttrs     asn1.RawValue `asn1:"optional,tag:1"`
}

type keyTransRecipientInfo struct {
	Version                int
	RID                    asn1.RawValue
	KeyEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedKey           []byte
}

type encryptedContentInfo struct {
	ContentType                asn1.ObjectIdentifier
	ContentEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedContent           asn1.RawValue `asn1:"optional,tag:0"`
}

// EnvelopeRequest asks for a digital envelope.
type EnvelopeRequest struct {
	// Recipients are the recipients' SM2 encryption certificates, PEM
	// blocks "CERTIFICATE", 1 to 100.
	Recipients []string
	Content    []byte
	// RFC5652 makes it with the OIDs of RFC 5652 instead of GM/T 0010's.
	RFC5652 bool
}

// Encrypt returns a DER ContentInfo holding an EnvelopedData of
// req.Content for every recipient (see the package documentation for
// the format). A recipient certificate must hold an SM2 key (not_sm2),
// allow key or data encipherment or key agreement when it has a key
// usage (certificate_invalid), and be valid now (certificate_expired).
// Encrypt needs no key of the service, and works sealed.
func (s *Service) Encrypt(req EnvelopeRequest) ([]byte, error) {
	if len(req.Recipients) == 0 || len(req.Recipients) > maxRecipients {
		return nil, fault.Invalid("an envelope has 1 to %d recipients", maxRecipients)
	}
	now := s.clock()
	certs := make([]*smx509.Certificate, len(req.Recipients))
	for i, p := range req.Recipients {
		c, err := recipientCertificate(p, now)
		if err != nil {
			return nil, err
		}
		certs[i] = c
	}
	oids := oidsFor(req.RFC5652)
	key := make([]byte, pkcs.SM4CBC.KeySize())
	defer clear(key)
	if _, err := io.ReadFull(s.rand, key); err != nil {
		return nil, fault.Unexpected(err)
	}
	alg, ciphertext, err := pkcs.SM4CBC.Encrypt(s.rand, key, req.Content)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	ed := envelopedData{Version: oids.version, EncryptedContentInfo: encryptedContentInfo{
		ContentType: oids.data, ContentEncryptionAlgorithm: *alg,
		EncryptedContent: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: ciphertext},
	}}
	for _, c := range certs {
		ri, err := s.recipientInfo(c, key, oids)
		if err != nil {
			return nil, err
		}
		ed.RecipientInfos = append(ed.RecipientInfos, asn1.RawValue{FullBytes: ri})
	}
	der, err := wrapContentInfo(oids.envelopedData, ed)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return der, nil
}

// recipientCertificate reads and checks a recipient's certificate.
func recipientCertificate(p string, now time.Time) (*smx509.Certificate, error) {
	c, err := parseCertificatePEM(p)
	if err != nil {
		return nil, err
	}
	const encipher = smx509.KeyUsageKeyEncipherment | smx509.KeyUsageDataEncipherment | smx509.KeyUsageKeyAgreement
	if c.KeyUsage != 0 && c.KeyUsage&encipher == 0 {
		return nil, fault.New(fault.CertificateInvalid, "the certificate of %s is not an encryption certificate (its key usage allows no encipherment)", c.Subject)
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil, fault.New(fault.CertificateExpired, "the certificate of %s is valid from %s to %s", c.Subject,
			c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))
	}
	return c, nil
}

// recipientInfo encrypts the content key to a recipient (SM2, GM/T 0009
// ASN.1 ciphertext) and encodes its KeyTransRecipientInfo.
func (s *Service) recipientInfo(c *smx509.Certificate, key []byte, oids oidSet) ([]byte, error) {
	ek, err := sm2.EncryptASN1(s.rand, c.PublicKey.(*ecdsa.PublicKey), key)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	rid, err := signerID(c)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	der, err := asn1.Marshal(keyTransRecipientInfo{
		Version: oids.version, RID: rid, KeyEncryptionAlgorithm: oids.algorithm(oidSM2Encrypt), EncryptedKey: ek,
	})
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return der, nil
}
