package sm9

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm9"

	"github.com/mimacrypto/mima/internal/device"
)

// vectors are the examples of GM/T 0044-2016 part 5 (testdata/README.md).
type vectors struct {
	Sign struct {
		Master, ID, Message, R, H, S string
		HID                          byte
	}
	Exchange struct {
		Master, Initiator, Responder string
		RA, RB, RAPoint, Key, SB, SA string
		HID                          byte
		KLen                         int
	}
	Encapsulation struct {
		Master, ID, R, C, Key string
		HID                   byte
		KLen                  int
	}
	Encryption struct {
		Master, ID, Message, R, C1C3C2 string
		HID                            byte
	}
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	// The point R_A is "RA" in the file, r_A "ra": rename before decoding
	// case-insensitively.
	b = bytes.Replace(b, []byte(`"RA":`), []byte(`"RAPoint":`), 1)
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scalars yields the standard's random numbers: reads of 32 bytes take
// the next one; single-byte reads (gmsm's randutil.MaybeReadByte, which
// makes callers robust against fixed readers) get a zero and take none.
type scalars struct{ r *bytes.Reader }

func (s scalars) Read(p []byte) (int, error) {
	if len(p) == 1 {
		p[0] = 0
		return 1, nil
	}
	return s.r.Read(p)
}

func fixedRand(t *testing.T, r string) scalars { return scalars{bytes.NewReader(unhex(t, r))} }

// fixed returns a device whose random source yields r, then fails.
func fixed(t *testing.T, r string) *device.Software {
	return device.NewSoftware(device.WithRand(fixedRand(t, r)))
}

// userKey opens a master (its 32-byte scalar) on dev, extracts the key of
// id and opens it.
func userKey(t *testing.T, dev *device.Software, mt device.KeyType, master, id string, hid byte) (device.SM9Master, device.Key) {
	t.Helper()
	ctx := context.Background()
	m, err := dev.Open(ctx, mt, unhex(t, master))
	if err != nil {
		t.Fatal(err)
	}
	km := m.(device.SM9Master)
	stored, err := km.Extract(ctx, []byte(id), hid)
	if err != nil {
		t.Fatal(err)
	}
	ut, _ := userType(mt)
	u, err := dev.Open(ctx, ut, stored)
	if err != nil {
		t.Fatal(err)
	}
	return km, u
}

func TestStandardSignature(t *testing.T) {
	v := loadVectors(t).Sign
	dev := fixed(t, v.R)
	m, u := userKey(t, dev, device.SM9SignMaster, v.Master, v.ID, v.HID)
	sig, err := u.(device.SM9Signer).Sign(context.Background(), []byte(v.Message))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		H []byte
		S asn1.BitString
	}
	if _, err := asn1.Unmarshal(sig, &got); err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(hex.EncodeToString(got.H), v.H) || !strings.EqualFold(hex.EncodeToString(got.S.Bytes), v.S) {
		t.Fatalf("signature (h, S) = (%x, %x), want the standard's", got.H, got.S.Bytes)
	}
	pub, err := ParseSignMaster(m.MasterPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if !VerifyWith(pub, []byte(v.ID), v.HID, []byte(v.Message), sig) {
		t.Fatal("the standard's signature does not verify")
	}
	if VerifyWith(pub, []byte("Bob"), v.HID, []byte(v.Message), sig) || VerifyWith(pub, []byte(v.ID), 3, []byte(v.Message), sig) {
		t.Fatal("the signature verifies for another identity or hid")
	}
}

func TestStandardEncryption(t *testing.T) {
	v := loadVectors(t).Encryption
	m, u := userKey(t, device.NewSoftware(), device.SM9EncMaster, v.Master, v.ID, v.HID)
	pub, err := ParseEncMaster(m.MasterPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	ct, err := EncryptTo(fixedRand(t, v.R), pub, []byte(v.ID), v.HID, []byte(v.Message), device.SM9XOR)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Mode   int
		C1     asn1.BitString
		C3, C2 []byte
	}
	if _, err := asn1.Unmarshal(ct, &c); err != nil {
		t.Fatal(err)
	}
	got := append(append(append([]byte{}, c.C1.Bytes[1:]...), c.C3...), c.C2...)
	if !strings.EqualFold(hex.EncodeToString(got), v.C1C3C2) || c.Mode != 0 {
		t.Fatalf("C1 || C3 || C2 = %x (mode %d), want the standard's", got, c.Mode)
	}
	pt, err := u.(device.SM9Decrypter).Decrypt(context.Background(), []byte(v.ID), ct)
	if err != nil || string(pt) != v.Message {
		t.Fatalf("Decrypt = %q, %v", pt, err)
	}
	ct[len(ct)-1] ^= 1
	if _, err := u.(device.SM9Decrypter).Decrypt(context.Background(), []byte(v.ID), ct); err != device.ErrDecrypt {
		t.Fatalf("Decrypt of a tampered ciphertext: %v, want ErrDecrypt", err)
	}
}

func TestStandardEncapsulation(t *testing.T) {
	v := loadVectors(t).Encapsulation
	m, u := userKey(t, device.NewSoftware(), device.SM9EncMaster, v.Master, v.ID, v.HID)
	pub, err := ParseEncMaster(m.MasterPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	key, c, err := Encapsulate(fixedRand(t, v.R), pub, []byte(v.ID), v.HID, v.KLen)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(hex.EncodeToString(key), v.Key) || !strings.EqualFold(hex.EncodeToString(c[1:]), v.C) {
		t.Fatalf("key, C = %x, %x; want the standard's", key, c)
	}
	got, err := u.(device.SM9Decrypter).Decapsulate(context.Background(), []byte(v.ID), c, v.KLen)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("Decapsulate = %x, %v", got, err)
	}
}

// TestStandardKeyExchange runs the initiator (Alice) on gmsm and the
// responder (Bob) as a hosted key of the device.
func TestStandardKeyExchange(t *testing.T) {
	v := loadVectors(t).Exchange
	master, err := sm9.UnmarshalEncryptMasterPrivateKeyASN1(mustInt(t, v.Master))
	if err != nil {
		t.Fatal(err)
	}
	alice, err := master.GenerateUserKey([]byte(v.Initiator), v.HID)
	if err != nil {
		t.Fatal(err)
	}
	ke := alice.NewKeyExchange([]byte(v.Initiator), []byte(v.Responder), v.KLen, true)
	defer ke.Destroy()
	ra, err := ke.InitKeyExchange(fixedRand(t, v.RA), v.HID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(hex.EncodeToString(ra), v.RAPoint) {
		t.Fatalf("R_A = %x, want the standard's", ra)
	}
	_, bob := userKey(t, fixed(t, v.RB), device.SM9EncMaster, v.Master, v.Responder, v.HID)
	rb, sb, key, err := bob.(device.SM9Decrypter).Respond(context.Background(), []byte(v.Responder), []byte(v.Initiator), ra, v.KLen)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(hex.EncodeToString(sb), v.SB) || !strings.EqualFold(hex.EncodeToString(key), v.Key) {
		t.Fatalf("S_B, key = %x, %x; want the standard's", sb, key)
	}
	keyA, sa, err := ke.ConfirmResponder(rb, sb)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(keyA, key) || !strings.EqualFold(hex.EncodeToString(sa), v.SA) {
		t.Fatalf("initiator key, S_A = %x, %x; want the standard's", keyA, sa)
	}
}

// mustInt returns the DER INTEGER of a hex scalar.
func mustInt(t *testing.T, h string) []byte {
	t.Helper()
	b, err := asn1.Marshal(new(big.Int).SetBytes(unhex(t, h)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
