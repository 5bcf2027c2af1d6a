package device_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
)

// hexBytes is a byte string written in hex in JSON.
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

// zucVectors is testdata/zuc.json; see testdata/README.md.
type zucVectors struct {
	EEA3 []struct {
		Source                string
		Key                   hexBytes
		Count                 uint32
		Bearer, Direction     uint8
		Bits                  int
		Plaintext, Ciphertext hexBytes
	}
	EIA3 []struct {
		Source            string
		Key               hexBytes
		Count             uint32
		Bearer, Direction uint8
		Bits              int
		Message, MAC      hexBytes
	}
	ZUC256Keystream []struct {
		Source             string
		Key, IV, Keystream hexBytes
	} `json:"zuc256_keystream"`
	ZUC256MAC []struct {
		Source                string
		Key, IV, Message, MAC hexBytes
		Bits                  int
	} `json:"zuc256_mac"`
}

func loadZUCVectors(t *testing.T) zucVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/zuc.json")
	if err != nil {
		t.Fatal(err)
	}
	var v zucVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.EEA3) != 5 || len(v.EIA3) != 5 || len(v.ZUC256Keystream) != 2 || len(v.ZUC256MAC) != 12 {
		t.Fatalf("zuc.json is incomplete: %d, %d, %d, %d sets", len(v.EEA3), len(v.EIA3), len(v.ZUC256Keystream), len(v.ZUC256MAC))
	}
	return v
}

func openZUC(t *testing.T, typ device.KeyType, raw []byte) device.StreamCipher {
	t.Helper()
	k, err := device.NewSoftware().Open(context.Background(), typ, raw)
	if err != nil {
		t.Fatal(err)
	}
	return k.(device.StreamCipher)
}

// TestZUCVectors replays the 3GPP and ZUC-256 test sets byte for byte,
// bit lengths included, through the Software device.
func TestZUCVectors(t *testing.T) {
	ctx := context.Background()
	v := loadZUCVectors(t)
	for _, s := range v.EEA3 {
		k := openZUC(t, device.ZUC128, s.Key)
		m := device.ZUCMessage{Count: s.Count, Bearer: s.Bearer, Direction: s.Direction, Data: s.Plaintext, Bits: s.Bits}
		got, err := k.EEA3(ctx, nil, m)
		if err != nil || !bytes.Equal(got, s.Ciphertext) {
			t.Errorf("%s: encrypt: %x, %v", s.Source, got, err)
		}
		m.Data = s.Ciphertext
		if got, err := k.EEA3(ctx, []byte("prefix"), m); err != nil || !bytes.Equal(got, append([]byte("prefix"), s.Plaintext...)) {
			t.Errorf("%s: decrypt: %x, %v", s.Source, got, err)
		}
	}
	for _, s := range v.EIA3 {
		k := openZUC(t, device.ZUC128, s.Key)
		m := device.ZUCMessage{Count: s.Count, Bearer: s.Bearer, Direction: s.Direction, Data: s.Message, Bits: s.Bits}
		if got, err := k.EIA3(ctx, nil, m, 4); err != nil || !bytes.Equal(got, s.MAC) {
			t.Errorf("%s: %x, %v", s.Source, got, err)
		}
	}
	for _, s := range v.ZUC256Keystream {
		k := openZUC(t, device.ZUC256, s.Key)
		zero := make([]byte, len(s.Keystream))
		if got, err := k.EEA3(ctx, nil, device.ZUCMessage{IV: s.IV, Data: zero, Bits: 8 * len(zero)}); err != nil || !bytes.Equal(got, s.Keystream) {
			t.Errorf("%s: %x, %v", s.Source, got, err)
		}
	}
	for _, s := range v.ZUC256MAC {
		k := openZUC(t, device.ZUC256, s.Key)
		if got, err := k.EIA3(ctx, nil, device.ZUCMessage{IV: s.IV, Data: s.Message, Bits: s.Bits}, len(s.MAC)); err != nil || !bytes.Equal(got, s.MAC) {
			t.Errorf("%s: %x, %v", s.Source, got, err)
		}
	}
}

// TestZUCRefusesBadInput: inputs that do not fit the key type fail
// instead of computing something else.
func TestZUCRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	k128 := openZUC(t, device.ZUC128, make([]byte, 16))
	k256 := openZUC(t, device.ZUC256, make([]byte, 32))
	for _, c := range []struct {
		name string
		k    device.StreamCipher
		m    device.ZUCMessage
	}{
		{"bits beyond the data", k128, device.ZUCMessage{Data: []byte{1}, Bits: 9}},
		{"data beyond the bits", k128, device.ZUCMessage{Data: []byte{1, 2}, Bits: 8}},
		{"negative bits", k128, device.ZUCMessage{Bits: -1}},
		{"bearer 32", k128, device.ZUCMessage{Bearer: 32}},
		{"direction 2", k128, device.ZUCMessage{Direction: 2}},
		{"IV with zuc-128", k128, device.ZUCMessage{IV: make([]byte, 23)}},
		{"short IV", k256, device.ZUCMessage{IV: make([]byte, 22)}},
		{"count with zuc-256", k256, device.ZUCMessage{IV: make([]byte, 23), Count: 1}},
	} {
		if out, err := c.k.EEA3(ctx, nil, c.m); err == nil {
			t.Errorf("%s: EEA3 gave %x", c.name, out)
		}
		if out, err := c.k.EIA3(ctx, nil, c.m, 4); err == nil {
			t.Errorf("%s: EIA3 gave %x", c.name, out)
		}
	}
	if out, err := k128.EIA3(ctx, nil, device.ZUCMessage{}, 8); err == nil {
		t.Errorf("an 8-byte 128-EIA3 MAC: %x", out)
	}
	if out, err := k256.EIA3(ctx, nil, device.ZUCMessage{IV: make([]byte, 23)}, 5); err == nil {
		t.Errorf("a 5-byte ZUC-256 MAC: %x", out)
	}
	for _, c := range []struct {
		typ device.KeyType
		n   int
	}{{device.ZUC128, 15}, {device.ZUC128, 32}, {device.ZUC256, 16}} {
		if _, err := device.NewSoftware().Open(ctx, c.typ, make([]byte, c.n)); err == nil {
			t.Errorf("%s opened %d bytes", c.typ, c.n)
		}
	}
}

// TestZUCDeriveAndWrap: derived ZUC keys are deterministic, differ per
// info and keep the type; a ZUC key survives wrapping and unwrapping.
func TestZUCDeriveAndWrap(t *testing.T) {
	ctx := context.Background()
	dev := device.NewSoftware()
	m := device.ZUCMessage{Data: make([]byte, 16), Bits: 128}
	for _, typ := range []device.KeyType{device.ZUC128, device.ZUC256} {
		if typ == device.ZUC256 {
			m.IV = make([]byte, device.ZUC256IVSize)
		}
		stored, err := dev.Generate(ctx, typ)
		if err != nil {
			t.Fatal(err)
		}
		k, err := dev.Open(ctx, typ, stored)
		if err != nil {
			t.Fatal(err)
		}
		stream := func(k device.Key) []byte {
			out, err := k.(device.StreamCipher).EEA3(ctx, nil, m)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		derive := func(info string) device.Key {
			d, err := k.(device.Deriver).Derive(ctx, []byte(info))
			if err != nil {
				t.Fatal(err)
			}
			if d.Type() != typ {
				t.Fatalf("derived a %s key from a %s key", d.Type(), typ)
			}
			return d
		}
		a, a2, b := stream(derive("ue-1")), stream(derive("ue-1")), stream(derive("ue-2"))
		if !bytes.Equal(a, a2) || bytes.Equal(a, b) || bytes.Equal(a, stream(k)) {
			t.Errorf("%s: derived keystreams %x %x %x", typ, a, a2, b)
		}

		wk, err := dev.Open(ctx, device.SM2, mustGenerate(t, dev, device.SM2))
		if err != nil {
			t.Fatal(err)
		}
		wrapped, err := k.(device.Wrapper).Wrap(ctx, wk.(device.Signer).Public(), device.SM2ASN1)
		if err != nil {
			t.Fatal(err)
		}
		back, err := dev.Unwrap(ctx, wk, typ, wrapped)
		if err != nil || !bytes.Equal(back, stored) {
			t.Errorf("%s: unwrap: %v", typ, err)
		}
	}
}

func mustGenerate(t *testing.T, dev device.Device, typ device.KeyType) []byte {
	t.Helper()
	stored, err := dev.Generate(context.Background(), typ)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}
