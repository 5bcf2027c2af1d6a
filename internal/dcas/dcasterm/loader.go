package dcasterm

import (
	"crypto/cipher"
	"fmt"

	"github.com/emmansun/gmsm/sm4"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/dcas"
	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// Loader is a terminal's boot loader: it holds the injected loader key
// BL_KEY0 and the CA certificates it trusts for code signing, and takes a
// downloaded software image only if it is signed by a certificate of
// those CAs and unchanged.
type Loader struct {
	bl    cipher.Block
	roots *smx509.CertPool
}

// NewLoader returns the loader of a chip with its injected BL_KEY0.
func NewLoader(blKey0 []byte, roots *smx509.CertPool) (*Loader, error) {
	bl, err := sm4.NewCipher(blKey0)
	if err != nil {
		return nil, err
	}
	return &Loader{bl: bl, roots: roots}, nil
}

// Open verifies a software image and returns its software: the
// signature and certificate first, then the image key unwound with
// BL_KEY0 and the software decrypted and authenticated. A malformed, unsigned, badly
// signed or changed image is dcas.ErrImage.
func (l *Loader) Open(image []byte) ([]byte, error) {
	img, err := dcas.ParseImage(image)
	if err != nil {
		return nil, err
	}
	if err := img.Verify(l.roots); err != nil {
		return nil, err
	}
	ik := make([]byte, dcas.BlockSize)
	defer clear(ik)
	l.bl.Decrypt(ik, img.Wrapped)
	aead, err := sm4gcm.New(ik)
	if err != nil {
		return nil, fmt.Errorf("dcasterm: image key: %w", err)
	}
	sw, err := aead.Open(nil, img.Sealed, img.Header)
	if err != nil {
		return nil, fmt.Errorf("%w: it does not decrypt under this chip's BL_KEY0", dcas.ErrImage)
	}
	return sw, nil
}
