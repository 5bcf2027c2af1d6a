package p11

import (
	"bytes"
	"crypto/cipher"
	"encoding/hex"
	"slices"
	"testing"

	smcipher "github.com/emmansun/gmsm/cipher"
	"github.com/emmansun/gmsm/padding"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/sdf"
)

// stream is an sm4Stream of mech with key and iv, as cryptInit and bind
// make it.
func stream(t *testing.T, key []byte, mech uint, iv []byte, encrypt bool) *sm4Stream {
	t.Helper()
	k, err := sdf.NewSM4Key(append([]byte(nil), key...))
	if err != nil {
		t.Fatal(err)
	}
	if !sm4Modes[mech].cbc {
		iv = nil
	}
	return &sm4Stream{iv: iv, pad: sm4Modes[mech].pad, encrypt: encrypt, mode: k.Mode(iv, encrypt)}
}

// TestSM4StreamParts encrypts and decrypts in parts of every size from
// 1 to 40 bytes and checks the bytes against gmsm's SM4 in one call
// (PKCS#7 from gmsm's padding package), and the length of each Update
// against outLen.
func TestSM4StreamParts(t *testing.T) {
	key, _ := hex.DecodeString("0123456789abcdeffedcba9876543210")
	iv := bytes.Repeat([]byte{7}, 16)
	block, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	// GB/T 32907 A.1: one block of the key under itself
	if got := stream(t, key, MechSM4ECB, nil, true).update(key); hex.EncodeToString(got) != "681edf34d206965e86b3e94f536e4246" {
		t.Fatalf("ECB of the standard's example: %x", got)
	}
	msg := bytes.Repeat([]byte("a message in parts "), 5)[:83]
	for _, mech := range []uint{MechSM4ECB, MechSM4CBC, MechSM4CBCPad} {
		in := msg[:80]
		if mech == MechSM4CBCPad {
			in = msg
		}
		want := make([]byte, len(in))
		var mode cipher.BlockMode = smcipher.NewECBEncrypter(block)
		if mech != MechSM4ECB {
			mode = cipher.NewCBCEncrypter(block, iv)
		}
		if mech == MechSM4CBCPad {
			want = padding.NewPKCS7Padding(16).Pad(in)
		} else {
			copy(want, in)
		}
		mode.CryptBlocks(want, want)
		for step := 1; step <= 40; step++ {
			for _, enc := range []bool{true, false} {
				st, src, exp := stream(t, key, mech, iv, enc), in, want
				if !enc {
					src, exp = want, in
				}
				var got []byte
				for i := 0; i < len(src); i += step {
					part := src[i:min(i+step, len(src))]
					n := st.outLen(len(part))
					out := st.update(part)
					if len(out) != n {
						t.Fatalf("mech 0x%X step %d: Update gave %d bytes, outLen said %d", mech, step, len(out), n)
					}
					got = append(got, out...)
				}
				last, err := st.final()
				if err != nil || !bytes.Equal(append(got, last...), exp) {
					t.Fatalf("mech 0x%X encrypt %v step %d: %x, %v; want %x", mech, enc, step, append(got, last...), err, exp)
				}
				if one, err := stream(t, key, mech, iv, enc).all(src); err != nil || !bytes.Equal(one, exp) {
					t.Fatalf("mech 0x%X single part: %x, %v", mech, one, err)
				}
			}
		}
	}
}

// TestSM4StreamRefusals: partial blocks, a CBC_PAD ciphertext that is no
// whole block, and bad padding.
func TestSM4StreamRefusals(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 16)
	iv := make([]byte, 16)
	for _, c := range []struct {
		mech uint
		enc  bool
		in   []byte
		want RV
	}{
		{MechSM4ECB, true, make([]byte, 17), DataLenRange},
		{MechSM4CBC, true, make([]byte, 15), DataLenRange},
		{MechSM4CBC, false, make([]byte, 31), EncryptedDataLenRange},
		{MechSM4CBCPad, false, nil, EncryptedDataLenRange},
		{MechSM4CBCPad, false, make([]byte, 20), EncryptedDataLenRange},
	} {
		if _, err := stream(t, key, c.mech, iv, c.enc).all(c.in); RVOf(err) != c.want {
			t.Errorf("mech 0x%X encrypt %v of %d bytes: %v, want 0x%X", c.mech, c.enc, len(c.in), err, c.want)
		}
	}
	// a block whose plaintext ends in 0, then one ending in 17, then
	// 02 03: none is PKCS#7
	for _, last := range [][]byte{{0}, {17}, {3, 2}} {
		pt := make([]byte, 16)
		copy(pt[16-len(last):], last)
		ct := stream(t, key, MechSM4CBC, iv, true).update(pt)
		if _, err := stream(t, key, MechSM4CBCPad, iv, false).all(ct); RVOf(err) != EncryptedDataInvalid {
			t.Errorf("padding %x: %v, want CKR_ENCRYPTED_DATA_INVALID", last, err)
		}
	}
}

// TestSessionKeyTemplate checks the templates C_GenerateKey takes and
// the value a sensitive or unextractable key refuses.
func TestSessionKeyTemplate(t *testing.T) {
	yes, no := []byte{1}, []byte{0}
	for _, c := range []struct {
		name string
		tmpl []Attribute
		want RV
	}{
		{"token key", []Attribute{{AttrToken, yes}}, TemplateInconsistent},
		{"SM2 key type", []Attribute{{AttrKeyType, ulong(KeyTypeSM2)}}, TemplateInconsistent},
		{"public key class", []Attribute{{AttrClass, ulong(ClassPublicKey)}}, TemplateInconsistent},
		{"32 bytes", []Attribute{{AttrValueLen, ulong(32)}}, AttributeValueInvalid},
		{"a long bool", []Attribute{{AttrSensitive, ulong(1)}}, AttributeValueInvalid},
		{"signing", []Attribute{{AttrSign, yes}}, TemplateInconsistent},
		{"unknown", []Attribute{{0x7777, yes}}, AttributeTypeInvalid},
		{"the usual", []Attribute{{AttrToken, no}, {AttrClass, ulong(ClassSecretKey)}, {AttrKeyType, ulong(KeyTypeSM4)}, {AttrValueLen, ulong(16)}, {AttrEncrypt, yes}, {AttrLabel, []byte("k")}}, OK},
	} {
		if _, err := newSessionKey(c.tmpl, true); RVOf(err) != c.want {
			t.Errorf("%s: %v, want 0x%X", c.name, err, c.want)
		}
	}
}

// TestSessionKeysWiped: C_DestroyObject, C_CloseSession and C_Finalize clear the bytes of the session keys they end, and only
// those.
func TestSessionKeysWiped(t *testing.T) {
	t.Setenv("MIMA_SDF_CONFIG", "")
	t.Setenv("MIMA_ADDR", "http://127.0.0.1:1")
	if err := Initialize(); err != nil {
		t.Fatal(err)
	}
	m, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]*sessionKey{}
	add := func(name string, sh uint) uint {
		s, err := m.Session(sh)
		if err != nil {
			t.Fatal(err)
		}
		k := &sessionKey{flags: map[uint]bool{}}
		h, err := s.addSessionKey(k, bytes.Repeat([]byte{0xA5}, 16))
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = k
		return h
	}
	wiped := func(want ...string) {
		t.Helper()
		for name, k := range keys {
			zero := bytes.Equal(k.key.Value(), make([]byte, 16))
			if zero != slices.Contains(want, name) {
				t.Errorf("key %s wiped: %v, want the wiped keys %v", name, zero, want)
			}
		}
	}
	s1, _ := m.OpenSession(0, false)
	s2, _ := m.OpenSession(0, false)
	h := add("destroyed", s1)
	add("closed", s1)
	add("kept", s2)
	s, _ := m.Session(s2)
	if err := s.DestroyObject(h); err != nil {
		t.Fatal(err)
	}
	if err := s.DestroyObject(h); RVOf(err) != ObjectHandleInvalid {
		t.Fatalf("destroying twice: %v", err)
	}
	wiped("destroyed")
	if err := m.CloseSession(s1); err != nil {
		t.Fatal(err)
	}
	wiped("destroyed", "closed")
	s3, _ := m.OpenSession(0, false)
	add("finalized", s3)
	if err := Finalize(); err != nil {
		t.Fatal(err)
	}
	wiped("destroyed", "closed", "kept", "finalized")
}
