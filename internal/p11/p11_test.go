package p11

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/sdk"
)

// TestPayload reads the binary part of mima's ciphertext strings and
// refuses anything else with CKR_FUNCTION_FAILED.
func TestPayload(t *testing.T) {
	raw := []byte{4, 1, 2, 3}
	got, err := payload("mima:v12:" + base64.StdEncoding.EncodeToString(raw))
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("payload = %x, %v", got, err)
	}
	for _, bad := range []string{"", "v1:BAQ=", "mima:v1:not base64!", "mimav1BAQ="} {
		if _, err := payload(bad); RVOf(err) != FunctionFailed {
			t.Errorf("payload(%q): %v, want CKR_FUNCTION_FAILED", bad, err)
		}
	}
}

// TestMayBeCertificate skips the server for searches no certificate
// object can match.
func TestMayBeCertificate(t *testing.T) {
	for _, c := range []struct {
		name     string
		template []Attribute
		want     bool
	}{
		{"empty template", nil, true},
		{"class certificate", []Attribute{{AttrClass, ulong(ClassCertificate)}}, true},
		{"class private key", []Attribute{{AttrClass, ulong(ClassPrivateKey)}}, false},
		{"its label", []Attribute{{AttrLabel, []byte("k")}}, true},
		{"another label", []Attribute{{AttrLabel, []byte("other")}}, false},
		{"another ID", []Attribute{{AttrClass, ulong(ClassCertificate)}, {AttrID, []byte("other")}}, false},
	} {
		if got := mayBeCertificate("k", c.template); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestCertificateAttributes answers the X.509 attributes of PKCS#11 from
// a certificate's DER and refuses the key attributes.
func TestCertificateAttributes(t *testing.T) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &smx509.Certificate{SerialNumber: big.NewInt(0x1234), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := smx509.ParseCertificate(der)
	o := &Object{Name: "k", Class: ClassCertificate}
	o.cert.Store(c)
	for _, a := range []Attribute{
		{AttrClass, ulong(ClassCertificate)}, {AttrCertificateType, ulong(0)}, {AttrID, []byte("k")},
		{AttrValue, der}, {AttrSubject, cert.RawSubject}, {AttrIssuer, cert.RawIssuer},
		{AttrSerialNumber, []byte{0x02, 0x02, 0x12, 0x34}}, {AttrPrivate, []byte{0}},
	} {
		if v, err := o.Attr(context.Background(), a.Type); err != nil || !bytes.Equal(v, a.Value) {
			t.Errorf("attribute 0x%X = %x, %v; want %x", a.Type, v, err, a.Value)
		}
	}
	for _, typ := range []uint{AttrKeyType, AttrECPoint, AttrSign} {
		if _, err := o.Attr(context.Background(), typ); RVOf(err) != AttributeTypeInvalid {
			t.Errorf("attribute 0x%X of a certificate: %v, want CKR_ATTRIBUTE_TYPE_INVALID", typ, err)
		}
	}
	if _, err := parseCertificate(der[:100]); RVOf(err) != FunctionFailed {
		t.Errorf("a cut certificate: %v", err)
	}
}

// TestRVOfServerCodes maps the codes of the new calls.
func TestRVOfServerCodes(t *testing.T) {
	for code, want := range map[string]RV{"decrypt_failed": EncryptedDataInvalid, "body_too_large": DataLenRange, "no_such_code": FunctionFailed} {
		if got := RVOf(&sdk.APIError{Code: code}); got != want {
			t.Errorf("%s: 0x%X, want 0x%X", code, got, want)
		}
	}
}
