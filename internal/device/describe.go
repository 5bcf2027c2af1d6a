package device

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
)

// DescribeKey names the kind of a public key for an error message, such
// as "an RSA key" or "an ECDSA key on P-256".
func DescribeKey(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "an RSA key"
	case *ecdsa.PublicKey:
		return "an ECDSA key on " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "an Ed25519 key"
	}
	return "a key of another type"
}
