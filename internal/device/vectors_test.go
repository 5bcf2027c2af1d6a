package device_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/device"
)

// hexBytes is a hex string in vectors.json.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

type vectors struct {
	SM3 []struct {
		Source          string
		Message, Digest hexBytes
	}
	SM4 []struct {
		Source                     string
		Key, Plaintext, Ciphertext hexBytes
		Iterations                 int
	}
	HMACSM3 []macVector `json:"hmac_sm3"`
	SM4CMAC []macVector `json:"sm4_cmac"`
	SM2     struct {
		PrivateKey        hexBytes `json:"private_key"`
		PublicKey         hexBytes `json:"public_key"`
		UID, Message      hexBytes
		E, R, S           hexBytes
		EncryptPlaintext  hexBytes `json:"encrypt_plaintext"`
		EncryptCiphertext hexBytes `json:"encrypt_ciphertext_c1c3c2"`
	}
}

type macVector struct {
	Source            string
	Key, Message, MAC hexBytes
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.SM3) == 0 || len(v.SM4) == 0 || len(v.HMACSM3) == 0 || len(v.SM4CMAC) == 0 || len(v.SM2.PrivateKey) == 0 {
		t.Fatal("vectors.json is missing a section")
	}
	return v
}

func TestSM3Vectors(t *testing.T) {
	for _, v := range loadVectors(t).SM3 {
		if got := sm3.Sum(v.Message); !bytes.Equal(got[:], v.Digest) {
			t.Errorf("%s: got %x, want %x", v.Source, got, v.Digest)
		}
	}
}

func TestSM4Vectors(t *testing.T) {
	for _, v := range loadVectors(t).SM4 {
		if v.Iterations > 1 && testing.Short() {
			t.Logf("%s: skipped in -short", v.Source)
			continue
		}
		block, err := sm4.NewCipher(v.Key)
		if err != nil {
			t.Fatal(err)
		}
		buf := bytes.Clone(v.Plaintext)
		for range v.Iterations {
			block.Encrypt(buf, buf)
		}
		if !bytes.Equal(buf, v.Ciphertext) {
			t.Errorf("%s: got %x, want %x", v.Source, buf, v.Ciphertext)
		}
	}
}

func TestMACVectors(t *testing.T) {
	v := loadVectors(t)
	dev := device.NewSoftware()
	for _, tc := range []struct {
		typ     device.KeyType
		vectors []macVector
	}{
		{device.HMACSM3, v.HMACSM3},
		{device.SM4, v.SM4CMAC},
	} {
		for _, mv := range tc.vectors {
			k, err := dev.Open(tc.typ, mv.Key)
			if err != nil {
				t.Fatalf("%s: %v", mv.Source, err)
			}
			if got := k.(device.MAC).MAC(nil, mv.Message); !bytes.Equal(got, mv.MAC) {
				t.Errorf("%s: got %x, want %x", mv.Source, got, mv.MAC)
			}
		}
	}
}

func TestSM2Vector(t *testing.T) {
	v := loadVectors(t).SM2
	k, err := device.NewSoftware().Open(device.SM2, v.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.(crypto.Signer).Public().(*ecdsa.PublicKey)
	point, err := sm2.PublicKeyToECDH(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(point.Bytes(), v.PublicKey) {
		t.Fatalf("public key from the private key differs from the standard's")
	}
	e, err := device.SM2Digest(pub, v.UID, v.Message)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e, v.E) {
		t.Fatalf("e = %x, want %x", e, v.E)
	}
	defaultE, err := device.SM2Digest(pub, nil, v.Message)
	if err != nil || !bytes.Equal(defaultE, v.E) {
		t.Fatalf("an empty uid must mean %q: e = %x, %v", device.DefaultUID, defaultE, err)
	}
	sig := derSignature(t, v.R, v.S)
	if !device.VerifySM2(pub, e, sig) {
		t.Fatal("the standard's signature does not verify")
	}
	if device.VerifySM2(pub, sm3Of("message digesT"), sig) {
		t.Fatal("the standard's signature verifies another message")
	}
	pt, err := k.(crypto.Decrypter).Decrypt(nil, v.EncryptCiphertext, nil)
	if err != nil || !bytes.Equal(pt, v.EncryptPlaintext) {
		t.Fatalf("decrypting the standard's ciphertext: %q, %v", pt, err)
	}
}

func sm3Of(s string) []byte {
	h := sm3.Sum([]byte(s))
	return h[:]
}

// derSignature encodes r and s as SEQUENCE { r INTEGER, s INTEGER }.
func derSignature(t *testing.T, r, s []byte) []byte {
	t.Helper()
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
	if err != nil {
		t.Fatal(err)
	}
	return der
}
