package p11

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync/atomic"

	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/mimacrypto/mima/internal/sdf"
)

// Attribute types of pkcs11t.h the module answers.
const (
	AttrClass            uint = 0x000
	AttrToken            uint = 0x001
	AttrPrivate          uint = 0x002
	AttrLabel            uint = 0x003
	AttrValue            uint = 0x011
	AttrCertificateType  uint = 0x080
	AttrIssuer           uint = 0x081
	AttrSerialNumber     uint = 0x082
	AttrTrusted          uint = 0x086
	AttrSubject          uint = 0x101
	AttrKeyType          uint = 0x100
	AttrID               uint = 0x102
	AttrSensitive        uint = 0x103
	AttrEncrypt          uint = 0x104
	AttrDecrypt          uint = 0x105
	AttrWrap             uint = 0x106
	AttrUnwrap           uint = 0x107
	AttrSign             uint = 0x108
	AttrVerify           uint = 0x10A
	AttrDerive           uint = 0x10C
	AttrValueLen         uint = 0x161
	AttrExtractable      uint = 0x162
	AttrLocal            uint = 0x163
	AttrNeverExtractable uint = 0x164
	AttrAlwaysSensitive  uint = 0x165
	AttrModifiable       uint = 0x170
	AttrECParams         uint = 0x180
	AttrECPoint          uint = 0x181
)

// sm2Params is CKA_EC_PARAMS of SM2: the DER OID 1.2.156.10197.1.301.
var sm2Params = []byte{0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D}

// Attribute is a type and its value, as in a template.
type Attribute struct {
	Type  uint
	Value []byte
}

// Object is a mima key seen as a PKCS#11 object: an sm2 key is a private
// and a public key object, and a certificate object when mima issued it
// a certificate; an sm4 key is a secret key object. Its label and ID are
// the key's name. A session SM4 key of the module (sessionkey.go) is an
// Object too, with secret set and no name.
type Object struct {
	Name           string
	Class, KeyType uint
	slot           *Slot
	cert           atomic.Pointer[certificate] // of a certificate object, as last found
	secret         *sessionKey
}

// certificate is what a certificate object answers: CKA_VALUE and the
// DER fields of it that PKCS#11 repeats.
type certificate struct {
	value, subject, issuer, serial []byte
}

// parseCertificate reads a DER X.509 certificate.
func parseCertificate(der []byte) (*certificate, error) {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, &Error{RV: FunctionFailed, Err: err}
	}
	var b cryptobyte.Builder
	b.AddASN1BigInt(c.SerialNumber)
	serial, err := b.Bytes()
	if err != nil {
		return nil, &Error{RV: FunctionFailed, Err: err}
	}
	return &certificate{value: der, subject: c.RawSubject, issuer: c.RawIssuer, serial: serial}, nil
}

// certAttr is the value of attribute t of a certificate object.
func (o *Object) certAttr(t uint) ([]byte, error) {
	c := o.cert.Load()
	switch t {
	case AttrClass:
		return ulong(ClassCertificate), nil
	case AttrCertificateType:
		return ulong(0), nil // CKC_X_509
	case AttrLabel, AttrID:
		return []byte(o.Name), nil
	case AttrToken:
		return boolean(true), nil
	case AttrPrivate, AttrModifiable, AttrTrusted:
		return boolean(false), nil
	case AttrValue:
		return c.value, nil
	case AttrSubject:
		return c.subject, nil
	case AttrIssuer:
		return c.issuer, nil
	case AttrSerialNumber:
		return c.serial, nil
	}
	return nil, fail(AttributeTypeInvalid, "certificate %s has no attribute 0x%X", o.Name, t)
}

// ulong is v as a CK_ULONG (LP64: 8 bytes, native order).
func ulong(v uint) []byte { return binary.NativeEndian.AppendUint64(nil, uint64(v)) }

func boolean(v bool) []byte {
	if v {
		return []byte{1}
	}
	return []byte{0}
}

// Attr is the value of attribute t; CKA_EC_POINT asks the server.
func (o *Object) Attr(ctx context.Context, t uint) ([]byte, error) {
	if o.Class == ClassCertificate {
		return o.certAttr(t)
	}
	if o.secret != nil {
		return o.sessionAttr(t)
	}
	private := o.Class != ClassPublicKey
	switch t {
	case AttrClass:
		return ulong(o.Class), nil
	case AttrKeyType:
		return ulong(o.KeyType), nil
	case AttrLabel, AttrID:
		return []byte(o.Name), nil
	case AttrToken, AttrNeverExtractable, AttrAlwaysSensitive:
		return boolean(true), nil
	case AttrModifiable:
		return boolean(false), nil
	case AttrPrivate, AttrSensitive:
		return boolean(private), nil
	case AttrExtractable:
		return boolean(!private), nil
	case AttrSign:
		return boolean(o.Class == ClassPrivateKey), nil
	case AttrVerify:
		return boolean(o.Class == ClassPublicKey), nil
	case AttrEncrypt:
		return boolean(o.Class != ClassPrivateKey), nil
	case AttrDecrypt:
		return boolean(o.Class != ClassPublicKey), nil
	case AttrValueLen:
		if o.Class == ClassSecretKey {
			return ulong(16), nil
		}
	case AttrValue:
		if private {
			return nil, fail(AttributeSensitive, "the key never leaves the server")
		}
	case AttrECParams:
		if o.KeyType == KeyTypeSM2 {
			return sm2Params, nil
		}
	case AttrECPoint:
		if o.KeyType == KeyTypeSM2 {
			return o.point(ctx)
		}
	}
	return nil, fail(AttributeTypeInvalid, "object %s has no attribute 0x%X", o.Name, t)
}

// point is CKA_EC_POINT: the DER OCTET STRING of 04 || x || y.
func (o *Object) point(ctx context.Context) ([]byte, error) {
	srv, err := o.slot.server()
	if err != nil {
		return nil, err
	}
	pub, err := srv.publicKey(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	x, y, err := sdf.Coordinates(pub)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.OCTET_STRING, func(b *cryptobyte.Builder) {
		b.AddUint8(4)
		b.AddBytes(x[:])
		b.AddBytes(y[:])
	})
	return b.Bytes()
}

// matches reports whether o has every attribute of template.
func (o *Object) matches(ctx context.Context, template []Attribute) bool {
	for _, a := range template {
		v, err := o.Attr(ctx, a.Type)
		if err != nil || !bytes.Equal(v, a.Value) {
			return false
		}
	}
	return true
}
