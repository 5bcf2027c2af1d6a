package cms

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/sm3"
)

// tsReq is a TimeStampReq as a client builds it (RFC 3161 section 2.4.1).
type tsReq struct {
	Version  int
	Imprint  messageImprint
	Policy   asn1.RawValue    `asn1:"optional"`
	Nonce    *big.Int         `asn1:"optional"`
	CertReq  bool             `asn1:"optional"`
	Extended []pkix.Extension `asn1:"optional,tag:0"`
}

// NewTimestampRequest builds a DER TimeStampReq for the data read from
// data, hashed with SM3 as it streams: version 1, an SM3 message imprint,
// a random 64-bit nonce from rand and certReq set. It returns the request
// and its nonce, which the reply must echo.
func NewTimestampRequest(rand io.Reader, data io.Reader) ([]byte, *big.Int, error) {
	h := sm3.New()
	if _, err := io.Copy(h, data); err != nil {
		return nil, nil, fmt.Errorf("cms: reading the data to timestamp: %w", err)
	}
	n := make([]byte, 8)
	if _, err := io.ReadFull(rand, n); err != nil {
		return nil, nil, fmt.Errorf("cms: nonce: %w", err)
	}
	nonce := new(big.Int).SetBytes(n)
	der, err := asn1.Marshal(tsReq{
		Version: 1, CertReq: true, Nonce: nonce,
		Imprint: messageImprint{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSM3}, HashedMessage: h.Sum(nil)},
	})
	if err != nil {
		return nil, nil, err
	}
	return der, nonce, nil
}
