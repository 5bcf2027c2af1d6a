package tlcp

import (
	"encoding/pem"
	"fmt"
	"os"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/mimacrypto/mima/internal/pemkey"
)

// LoadCertificate reads a dual certificate from PEM files: the signing
// certificate (with any intermediates after it, issuer first) and its
// key, and the encryption certificate and its key. Keys are SM2, PKCS#8
// or SEC 1, unencrypted.
func LoadCertificate(signCertFile, signKeyFile, encCertFile, encKeyFile string) (*Certificate, error) {
	signChain, err := readCertificates(signCertFile)
	if err != nil {
		return nil, err
	}
	encChain, err := readCertificates(encCertFile)
	if err != nil {
		return nil, err
	}
	signKey, err := readSM2Key(signKeyFile)
	if err != nil {
		return nil, err
	}
	encKey, err := readSM2Key(encKeyFile)
	if err != nil {
		return nil, err
	}
	return &Certificate{
		SignCertificate: signChain[0], SignKey: signKey,
		EncCertificate: encChain[0], EncKey: encKey,
		Intermediates: signChain[1:],
	}, nil
}

// LoadCertPool reads PEM certificates into a pool.
func LoadCertPool(file string) (*smx509.CertPool, error) {
	ders, err := readCertificates(file)
	if err != nil {
		return nil, err
	}
	pool := smx509.NewCertPool()
	for _, der := range ders {
		c, err := smx509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("tlcp: %s: %w", file, err)
		}
		pool.AddCert(c)
	}
	return pool, nil
}

// readCertificates returns the DER of every CERTIFICATE block of a file.
func readCertificates(file string) ([][]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tlcp: %w", err)
	}
	var ders [][]byte
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			ders = append(ders, block.Bytes)
		}
	}
	if len(ders) == 0 {
		return nil, fmt.Errorf("tlcp: %s holds no PEM certificate", file)
	}
	return ders, nil
}

// readSM2Key reads the first PEM private key block of a file (which may
// also hold certificates): SM2, PKCS#8 or SEC 1.
func readSM2Key(file string) (*sm2.PrivateKey, error) {
	k, err := pemkey.ReadSM2(file)
	if err != nil {
		return nil, fmt.Errorf("tlcp: %w", err)
	}
	return k, nil
}
