package dcas

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm4"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// ImageMagic starts a terminal software image.
const ImageMagic = "MIMG"

// MaxImage bounds the software of one image.
const MaxImage = 256 << 20

// ErrImage is returned for a software image that is malformed, unsigned,
// signed by a certificate the roots do not vouch for, or changed.
var ErrImage = errors.New("dcas: the software image does not verify")

// blDerivation names the loader key BL_KEY0 of a vendor key: one per
// vendor key, injected into every chip with its ESCK. Its device id has
// colons, which no ChipID has.
func blDerivation() kms.Derivation { return kms.Derivation{DeviceID: "dcas:bl:0"} }

// ImageKeyResult is a fresh image key, the same key encrypted under
// BL_KEY0 (one SM4 block) for the image's header, and the vendor key
// version.
type ImageKeyResult struct {
	Key     []byte
	Wrapped []byte
	Version int
}

// ImageKey makes the key of one software image: 16 random bytes, and
// SM4(BL_KEY0, key) that only a chip holding BL_KEY0 unwinds.
func (s *Service) ImageKey(ctx context.Context, tenant, key string, version int) (ImageKeyResult, error) {
	ik := make([]byte, BlockSize)
	if _, err := io.ReadFull(s.keys.Rand(), ik); err != nil {
		return ImageKeyResult{}, fmt.Errorf("dcas: image key: %w", err)
	}
	var wrapped []byte
	v, err := s.keys.DeriveEach(ctx, tenant, key, version, []kms.Derivation{blDerivation()}, func(_, _ int, bl []byte) error {
		c, err := sm4.NewCipher(bl)
		if err != nil {
			return err
		}
		wrapped = encryptBlock(nil, c, ik)
		return nil
	})
	if err != nil {
		return ImageKeyResult{}, err
	}
	return ImageKeyResult{Key: ik, Wrapped: wrapped, Version: v}, nil
}

// Image is a parsed software image (docs/media.md):
//
//	"MIMG" 0x01 BE32(version) SM4(BL_KEY0, ik)
//	BE32(len) SM4-GCM(ik, software, aad = the 25 bytes before)   (nonce || ciphertext || tag)
//	BE16(len) signer certificate (DER)   BE16(len) SM2 signature of all before
type Image struct {
	Version   int
	Wrapped   []byte
	Header    []byte // the additional data of the sealed software
	Sealed    []byte
	Cert      *smx509.Certificate
	Signed    []byte // the bytes the signature covers
	Signature []byte
}

// SealImage encrypts software under the image key (wrapped under BL_KEY0
// as ImageKey made it) and appends the signer's certificate
// (DER) and the signature sign makes of everything before it.
func SealImage(rand io.Reader, key ImageKeyResult, software, cert []byte, sign func(signed []byte) ([]byte, error)) ([]byte, error) {
	if len(software) > MaxImage || len(cert) > 0xFFFF || len(key.Wrapped) != BlockSize {
		return nil, invalid("an image holds up to %d bytes of software and a certificate of up to 65535 bytes", MaxImage)
	}
	b := append([]byte(ImageMagic), Format1)
	b = binary.BigEndian.AppendUint32(b, uint32(key.Version))
	b = append(b, key.Wrapped...)
	aead, err := sm4gcm.New(key.Key)
	if err != nil {
		return nil, err
	}
	sealed, err := aead.Seal(nil, rand, software, b)
	if err != nil {
		return nil, fmt.Errorf("dcas: encrypting the image: %w", err)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(sealed)))
	b = append(b, sealed...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(cert)))
	b = append(b, cert...)
	sig, err := sign(b)
	if err != nil {
		return nil, fmt.Errorf("dcas: signing the image: %w", err)
	}
	if len(sig) > 0xFFFF {
		return nil, fmt.Errorf("dcas: a signature of %d bytes", len(sig))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(sig)))
	return append(b, sig...), nil
}

// ParseImage splits an image into its parts, without verifying it.
func ParseImage(b []byte) (Image, error) {
	r := reader{b: b}
	if string(r.next(4)) != ImageMagic || !bytes.Equal(r.next(1), []byte{Format1}) {
		return Image{}, fmt.Errorf("%w: not an image", ErrImage)
	}
	img := Image{Version: int(r.u32()), Wrapped: r.next(BlockSize)}
	img.Header = b[:len(b)-len(r.b)]
	img.Sealed = r.next(int(r.u32()))
	der := r.next(int(r.u16()))
	signed := len(b) - len(r.b)
	img.Signature = r.next(int(r.u16()))
	if r.short || len(r.b) != 0 {
		return Image{}, fmt.Errorf("%w: malformed", ErrImage)
	}
	if len(img.Signature) == 0 {
		return Image{}, fmt.Errorf("%w: unsigned", ErrImage)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return Image{}, fmt.Errorf("%w: the signer certificate: %w", ErrImage, err)
	}
	img.Cert, img.Signed = cert, b[:signed]
	return img, nil
}

// Verify checks that the image's certificate chains to roots for code
// signing and that its SM2 signature (default user id) covers the image.
func (img Image) Verify(roots *smx509.CertPool) error {
	if _, err := img.Cert.Verify(smx509.VerifyOptions{Roots: roots, KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageCodeSigning}}); err != nil {
		return fmt.Errorf("%w: the signer certificate: %w", ErrImage, err)
	}
	pub, ok := img.Cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !sm2.VerifyASN1WithSM2(pub, nil, img.Signed, img.Signature) {
		return fmt.Errorf("%w: bad signature", ErrImage)
	}
	return nil
}

// reader reads the fields of an image; short records a read past the end.
type reader struct {
	b     []byte
	short bool
}

func (r *reader) next(n int) []byte {
	if n > len(r.b) {
		r.short, r.b = true, nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	if v := r.next(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *reader) u16() uint16 {
	if v := r.next(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}
