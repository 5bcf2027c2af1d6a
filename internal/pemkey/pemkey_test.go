package pemkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

func TestParseSM2(t *testing.T) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := Encode(key)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := smx509.MarshalSM2PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p256DER, _ := x509.MarshalPKCS8PrivateKey(p256)
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}})
	for _, tc := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"pkcs8", pkcs8, true},
		{"sec1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), true},
		{"after a certificate", append(cert, pkcs8...), true},
		{"p-256", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p256DER}), false},
		{"garbage key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), false},
		{"certificate only", cert, false},
	} {
		got, err := ParseSM2(tc.in)
		if tc.ok && (err != nil || !got.Equal(key)) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if _, err := ParseSM2([]byte("no pem here")); !errors.Is(err, ErrNoKey) {
		t.Errorf("no PEM: %v, want ErrNoKey", err)
	}
}
