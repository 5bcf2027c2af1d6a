package tlcp

import (
	"crypto/cipher"
	"crypto/hmac"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// cipherSuite describes one suite of GB/T 38636-2020 6.4.5.2.1 and the key
// block lengths of 6.5.2.
type cipherSuite struct {
	id   uint16
	name string
	// ecdhe selects the SM2 key exchange; otherwise the client encrypts the
	// pre-master secret to the server's encryption certificate.
	ecdhe bool
	// gcm selects SM4-GCM records; otherwise SM4-CBC with HMAC-SM3.
	gcm    bool
	macLen int
	keyLen int
	ivLen  int
}

const (
	sm4KeyLen      = 16
	sm3Len         = 32
	gcmFixedIVLen  = 4
	gcmExplicitLen = 8
	gcmTagLen      = 16
)

var cipherSuites = []*cipherSuite{
	{id: ECC_SM4_GCM_SM3, name: "ECC_SM4_GCM_SM3", gcm: true, keyLen: sm4KeyLen, ivLen: gcmFixedIVLen},
	{id: ECC_SM4_CBC_SM3, name: "ECC_SM4_CBC_SM3", macLen: sm3Len, keyLen: sm4KeyLen, ivLen: sm4.BlockSize},
	{id: ECDHE_SM4_GCM_SM3, name: "ECDHE_SM4_GCM_SM3", ecdhe: true, gcm: true, keyLen: sm4KeyLen, ivLen: gcmFixedIVLen},
	{id: ECDHE_SM4_CBC_SM3, name: "ECDHE_SM4_CBC_SM3", ecdhe: true, macLen: sm3Len, keyLen: sm4KeyLen, ivLen: sm4.BlockSize},
}

var defaultCipherSuites = []uint16{ECC_SM4_GCM_SM3, ECC_SM4_CBC_SM3, ECDHE_SM4_GCM_SM3, ECDHE_SM4_CBC_SM3}

func suiteByID(id uint16) *cipherSuite {
	for _, s := range cipherSuites {
		if s.id == id {
			return s
		}
	}
	return nil
}

// recordProtection is the cipher state of one direction: either an AEAD
// (GCM) or a CBC block cipher with its HMAC-SM3.
type recordProtection struct {
	aead  cipher.AEAD
	fixed []byte // GCM implicit nonce part (client_write_IV / server_write_IV)
	block cipher.Block
	mac   hash.Hash
}

// newProtection builds the record protection for one direction from its
// slice of the key block.
func (s *cipherSuite) newProtection(macKey, key, iv []byte) (*recordProtection, error) {
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("tlcp: SM4 key: %w", err)
	}
	if s.gcm {
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("tlcp: SM4-GCM: %w", err)
		}
		return &recordProtection{aead: aead, fixed: append([]byte(nil), iv...)}, nil
	}
	return &recordProtection{block: block, mac: hmac.New(sm3.New, macKey)}, nil
}
