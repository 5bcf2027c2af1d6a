package cms

import (
	"context"
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/pkcs"

	"github.com/mimacrypto/mima/internal/fault"
)

// DecryptRequest asks to open a digital envelope.
type DecryptRequest struct {
	// CMS is the EnvelopedData: a ContentInfo, DER or BER, with either
	// OID set.
	CMS []byte
	// Key is the recipient's sm2 key in the key service (a name or alias).
	Key string
}

// Decrypt opens an envelope with an sm2 key of the key service, whose
// private key never leaves it (kms.Service.Decrypter): the key decrypts
// the content key of the first SM2 recipient it opens, trying its
// versions from the latest, and the content is decrypted with SM4-CBC.
// An envelope that does not parse, or uses another content encryption
// than SM4-CBC, is cms_malformed; one that the key does not open is
// decrypt_failed, without telling why.
func (s *Service) Decrypt(ctx context.Context, tenant string, req DecryptRequest) ([]byte, error) {
	ed, ciphertext, err := parseEnvelopedData(req.CMS)
	if err != nil {
		return nil, malformed(err, "is not an SM2/SM4-CBC CMS EnvelopedData (RFC 5652, GM/T 0010)")
	}
	dec, err := s.keys.Decrypter(ctx, tenant, req.Key)
	if err != nil {
		return nil, err
	}
	key, err := contentKey(dec, ed.RecipientInfos)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	eci := ed.EncryptedContentInfo
	pt, err := pkcs.SM4CBC.Decrypt(key, &eci.ContentEncryptionAlgorithm.Parameters, ciphertext)
	if err != nil {
		return nil, errDecrypt
	}
	return pt, nil
}

var errDecrypt = fault.New(fault.DecryptFailed, "the envelope could not be decrypted with this key")

// contentKey returns the content key of the first SM2 recipient dec
// opens.
func contentKey(dec crypto.Decrypter, ris []asn1.RawValue) ([]byte, error) {
	for _, raw := range ris {
		var ri keyTransRecipientInfo
		if raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagSequence || unmarshalAll(raw.FullBytes, &ri) != nil {
			continue // another kind of recipient
		}
		alg := ri.KeyEncryptionAlgorithm.Algorithm
		if !alg.Equal(oidSM2Encrypt) && !alg.Equal(oidSM2) {
			continue
		}
		key, err := dec.Decrypt(nil, ri.EncryptedKey, nil)
		switch {
		case fault.Is(err, fault.DecryptFailed):
			continue
		case err != nil:
			return nil, err
		case len(key) != pkcs.SM4CBC.KeySize():
			clear(key)
			continue
		}
		return key, nil
	}
	return nil, errDecrypt
}

// parseEnvelopedData reads a ContentInfo holding an EnvelopedData of
// either OID set whose content is SM4-CBC encrypted, and returns it with
// the ciphertext, checked to be whole blocks.
func parseEnvelopedData(in []byte) (*envelopedData, []byte, error) {
	if len(in) > maxInput {
		return nil, nil, fmt.Errorf("cms: input longer than %d bytes", maxInput)
	}
	der, err := toDER(in)
	if err != nil {
		return nil, nil, err
	}
	var ci contentInfo
	if err := unmarshalAll(der, &ci); err != nil {
		return nil, nil, err
	}
	if !ci.ContentType.Equal(oidEnvelopedData) && !ci.ContentType.Equal(oidGMEnvelopedData) {
		return nil, nil, fmt.Errorf("cms: content type %v is not enveloped data", ci.ContentType)
	}
	var ed envelopedData
	if err := unmarshalAll(ci.Content.Bytes, &ed); err != nil {
		return nil, nil, err
	}
	if len(ed.RecipientInfos) > maxRecipients {
		return nil, nil, fmt.Errorf("cms: more than %d recipients", maxRecipients)
	}
	eci := ed.EncryptedContentInfo
	var iv []byte
	if !eci.ContentEncryptionAlgorithm.Algorithm.Equal(oidSM4CBC) ||
		unmarshalAll(eci.ContentEncryptionAlgorithm.Parameters.FullBytes, &iv) != nil || len(iv) != 16 {
		return nil, nil, errors.New("cms: the content encryption is not SM4-CBC with a 16-byte IV")
	}
	ciphertext, err := encryptedContent(eci.EncryptedContent)
	if err != nil {
		return nil, nil, err
	}
	if len(ciphertext) == 0 || len(ciphertext)%16 != 0 {
		return nil, nil, errors.New("cms: the SM4-CBC ciphertext is not whole blocks")
	}
	return &ed, ciphertext, nil
}

// encryptedContent returns the octets of [0] IMPLICIT OCTET STRING,
// primitive or, as BER allows, constructed of OCTET STRINGs.
func encryptedContent(v asn1.RawValue) ([]byte, error) {
	if v.Class != asn1.ClassContextSpecific || v.Tag != 0 {
		return nil, errors.New("cms: the envelope has no encrypted content")
	}
	if !v.IsCompound {
		return v.Bytes, nil
	}
	parts, err := elements(v.Bytes)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, p := range parts {
		if p.Class != asn1.ClassUniversal || p.Tag != asn1.TagOctetString || p.IsCompound {
			return nil, errors.New("cms: the encrypted content holds something else than OCTET STRINGs")
		}
		out = append(out, p.Bytes...)
	}
	return out, nil
}
