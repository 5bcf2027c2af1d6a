package ieee1609

import "github.com/mimacrypto/mima/internal/v2x/coer"

// Data is Ieee1609Dot2Data, the secured protocol data unit (SPDU) of IEEE
// 1609.2 (6.3.1); the Chinese profile calls it V2XSecData.
type Data struct {
	ProtocolVersion uint8 // 3
	Content         Content
}

// Content is unsecured, signed or encrypted data, or a signed
// certificate request (6.3.3).
type Content struct {
	_                            coer.Choice
	_                            coer.Extensible
	UnsecuredData                []byte
	SignedData                   *SignedData
	EncryptedData                *EncryptedData
	SignedCertificateRequest     []byte
	SignedX509CertificateRequest []byte                 `coer:"ext"`
	Unknown                      *coer.UnknownExtension `coer:"unknown"`
}

// SignedData is a signature over ToBeSignedData (6.3.4).
type SignedData struct {
	HashID    uint8 `coer:"enum"`
	TbsData   ToBeSignedData
	Signer    SignerIdentifier
	Signature Signature
}

// ToBeSignedData is the payload and header that are signed (6.3.6).
type ToBeSignedData struct {
	Payload    SignedDataPayload
	HeaderInfo HeaderInfo
}

// SignedDataPayload is the signed data, the hash of external data, or a
// mark that external data is hashed in (6.3.7).
type SignedDataPayload struct {
	_           coer.Extensible
	Data        *Data                   `coer:"optional"`
	ExtDataHash *HashedData             `coer:"optional"`
	Omitted     *coer.Null              `coer:"ext"`
	Unknown     []coer.UnknownExtension `coer:"unknown"`
}

// HashedData is a hash with its algorithm (6.3.8).
type HashedData struct {
	_                coer.Choice
	_                coer.Extensible
	Sha256HashedData *HashedId32
	Sha384HashedData *HashedId48            `coer:"ext"`
	Sm3HashedData    *HashedId32            `coer:"ext"`
	Unknown          *coer.UnknownExtension `coer:"unknown"`
}

// HeaderInfo is the signed header (6.3.9).
type HeaderInfo struct {
	_                     coer.Extensible
	Psid                  Psid
	GenerationTime        *Time64                 `coer:"optional"`
	ExpiryTime            *Time64                 `coer:"optional"`
	GenerationLocation    *ThreeDLocation         `coer:"optional"`
	P2pcdLearningRequest  *HashedId3              `coer:"optional"`
	MissingCrlIdentifier  *MissingCrlIdentifier   `coer:"optional"`
	EncryptionKey         *EncryptionKey          `coer:"optional"`
	InlineP2pcdRequest    []HashedId3             `coer:"ext"`
	RequestedCertificate  *Certificate            `coer:"ext"`
	PduFunctionalType     *uint8                  `coer:"ext"`
	ContributedExtensions []ContributedExtension  `coer:"ext"`
	Unknown               []coer.UnknownExtension `coer:"unknown"`
}

// MissingCrlIdentifier names a CRL the sender lacks.
type MissingCrlIdentifier struct {
	_         coer.Extensible
	CracaID   HashedId3
	CrlSeries uint16
	Unknown   []coer.UnknownExtension `coer:"unknown"`
}

// ContributedExtension is a ContributedExtensionBlock: extensions defined
// by another body, each an open type.
type ContributedExtension struct {
	ContributorID uint8
	Extns         []coer.Open
}

// SignerIdentifier is how a verifier finds the signing key: a certificate
// digest, the certificate itself, or self (6.3.24).
type SignerIdentifier struct {
	_           coer.Choice
	_           coer.Extensible
	Digest      *HashedId8
	Certificate []Certificate
	Self        *coer.Null
	Unknown     *coer.UnknownExtension `coer:"unknown"`
}

// EncryptedData is a ciphertext and its recipients (6.3.30).
type EncryptedData struct {
	Recipients []RecipientInfo
	Ciphertext SymmetricCiphertext
}

// RecipientInfo says how one recipient recovers the data encryption key
// (6.3.31).
type RecipientInfo struct {
	_                   coer.Choice
	PskRecipInfo        *HashedId8
	SymmRecipInfo       *SymmRecipientInfo
	CertRecipInfo       *PKRecipientInfo
	SignedDataRecipInfo *PKRecipientInfo
	RekRecipInfo        *PKRecipientInfo
}

// SymmRecipientInfo wraps the key under a symmetric key.
type SymmRecipientInfo struct {
	RecipientID HashedId8
	EncKey      SymmetricCiphertext
}

// PKRecipientInfo wraps the key under a public key.
type PKRecipientInfo struct {
	RecipientID HashedId8
	EncKey      EncryptedDataEncryptionKey
}

// EncryptedDataEncryptionKey is an ECIES- or SM2-wrapped key (6.3.36).
type EncryptedDataEncryptionKey struct {
	_                    coer.Choice
	_                    coer.Extensible
	EciesNistP256        *EciesP256EncryptedKey
	EciesBrainpoolP256r1 *EciesP256EncryptedKey
	EcencSm2256          *EcencP256EncryptedKey `coer:"ext"`
	Unknown              *coer.UnknownExtension `coer:"unknown"`
}

// SymmetricCiphertext is AES-CCM or SM4-CCM ciphertext (6.3.37).
type SymmetricCiphertext struct {
	_         coer.Choice
	_         coer.Extensible
	Aes128Ccm *CcmCiphertext
	Sm4Ccm    *CcmCiphertext         `coer:"ext"`
	Unknown   *coer.UnknownExtension `coer:"unknown"`
}

// CcmCiphertext is One28BitCcmCiphertext: a 12-byte nonce and the
// ciphertext with its 16-byte tag.
type CcmCiphertext struct {
	Nonce         [12]byte
	CcmCiphertext []byte
}
