// Package pemkey reads SM2 private keys from PEM, the form operators keep
// them in (OpenSSL's `genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2`
// writes PKCS#8; older tools write SEC 1).
package pemkey

import (
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// ErrNoKey means the input holds no PEM private key block.
var ErrNoKey = errors.New("no PEM private key")

// ParseSM2 returns the SM2 key of the first PEM private key block in b,
// which may also hold other blocks such as certificates. The key is
// unencrypted PKCS#8 or SEC 1.
func ParseSM2(b []byte) (*sm2.PrivateKey, error) {
	var block *pem.Block
	for {
		block, b = pem.Decode(b)
		if block == nil {
			return nil, ErrNoKey
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			break
		}
	}
	if k, err := smx509.ParseSM2PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("reading the PEM private key: %w", err)
	}
	priv, ok := k.(*sm2.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the PEM private key is %T, not SM2", k)
	}
	return priv, nil
}

// ReadSM2 reads the file and parses it with ParseSM2; errors name the file.
func ReadSM2(file string) (*sm2.PrivateKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	k, err := ParseSM2(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return k, nil
}

// Encode writes an SM2 private key as a PKCS#8 PEM block.
func Encode(k *sm2.PrivateKey) ([]byte, error) {
	der, err := smx509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
