package kms

import (
	"bytes"
	"math"
	"testing"

	"github.com/emmansun/gmsm/kdf"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/zuc"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// TestZUC: eea3 and eia3 compute 128-EEA3/128-EIA3 and ZUC-256 with the
// stored key, as gmsm's zuc package does with the raw key.
func TestZUC(t *testing.T) {
	s, st, _ := newTestService(t)
	mustCreate(t, s, "acme", "z", device.ZUC128)
	mustCreate(t, s, "acme", "z256", device.ZUC256)
	raw, raw256 := rawMaterial(t, st, "acme", "z", 1), rawMaterial(t, st, "acme", "z256", 1)
	pdu := []byte("a PDU of the user plane")
	iv := bytes.Repeat([]byte{7}, device.ZUC256IVSize)

	c, err := zuc.NewEEACipher(raw, 0xfedcba98, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, len(pdu))
	c.XORKeyStream(want, pdu)
	req := ZUCRequest{Count: 0xfedcba98, Bearer: 5, Direction: 1, Input: pdu}
	got, err := s.EEA3(ctx, "acme", "z", req)
	if err != nil || got.Version != 1 || !bytes.Equal(got.Output, want) {
		t.Fatalf("EEA3 = %x (v%d), %v; want %x", got.Output, got.Version, err, want)
	}
	back, err := s.EEA3(ctx, "acme", "z", ZUCRequest{Count: 0xfedcba98, Bearer: 5, Direction: 1, Input: got.Output})
	if err != nil || !bytes.Equal(back.Output, pdu) {
		t.Fatalf("EEA3 twice = %q, %v", back.Output, err)
	}

	h, err := zuc.NewEIAHash(raw, 0xfedcba98, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantMAC := h.Finish(pdu, 8*len(pdu)-3)
	req.Bits = 8*len(pdu) - 3
	if got, err := s.EIA3(ctx, "acme", "z", req); err != nil || !bytes.Equal(got.MAC, wantMAC) {
		t.Fatalf("EIA3 = %x, %v; want %x", got.MAC, err, wantMAC)
	}

	h256, err := zuc.NewHash256(raw256, iv, 16)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.EIA3(ctx, "acme", "z256", ZUCRequest{IV: iv, Input: pdu, MACSize: 16}); err != nil || !bytes.Equal(got.MAC, h256.Finish(pdu, 8*len(pdu))) {
		t.Fatalf("EIA3 with zuc-256 = %x, %v", got.MAC, err)
	}
	c256, err := zuc.NewCipher(raw256, iv)
	if err != nil {
		t.Fatal(err)
	}
	c256.XORKeyStream(want, pdu)
	if got, err := s.EEA3(ctx, "acme", "z256", ZUCRequest{IV: iv, Input: pdu}); err != nil || !bytes.Equal(got.Output, want) {
		t.Fatalf("EEA3 with zuc-256 = %x, %v; want %x", got.Output, err, want)
	}

	res, err := s.EIA3Batch(ctx, "acme", "z", []ZUCRequest{req, {Count: 1, Bearer: 32, Input: pdu}, {Count: 0xfedcba98, Bearer: 5, Direction: 0, Input: pdu, Bits: req.Bits}})
	if err != nil || len(res) != 3 || !bytes.Equal(res[0].Value.MAC, wantMAC) || fault.CodeOf(res[1].Err) != fault.InvalidArgument || res[2].Err != nil || bytes.Equal(res[2].Value.MAC, wantMAC) {
		t.Fatalf("EIA3Batch = %+v, %v", res, err)
	}
}

// TestZUCRefusals: out-of-range COUNT, BEARER, DIRECTION, bit lengths and
// IVs are invalid_argument; other key types are key_type_mismatch.
func TestZUCRefusals(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "z", device.ZUC128)
	mustCreate(t, s, "acme", "z256", device.ZUC256)
	mustCreate(t, s, "acme", "sm4", device.SM4)
	in := []byte{1, 2}
	for _, c := range []struct {
		name, key string
		req       ZUCRequest
		code      fault.Code
	}{
		{"count above 2^32-1", "z", ZUCRequest{Count: math.MaxUint32 + 1, Input: in}, fault.InvalidArgument},
		{"negative count", "z", ZUCRequest{Count: -1, Input: in}, fault.InvalidArgument},
		{"bearer 32", "z", ZUCRequest{Bearer: 32, Input: in}, fault.InvalidArgument},
		{"negative bearer", "z", ZUCRequest{Bearer: -1, Input: in}, fault.InvalidArgument},
		{"direction 2", "z", ZUCRequest{Direction: 2, Input: in}, fault.InvalidArgument},
		{"bits past the input", "z", ZUCRequest{Bits: 17, Input: in}, fault.InvalidArgument},
		{"input past the bits", "z", ZUCRequest{Bits: 8, Input: in}, fault.InvalidArgument},
		{"negative bits", "z", ZUCRequest{Bits: -1, Input: in}, fault.InvalidArgument},
		{"iv for zuc-128", "z", ZUCRequest{IV: make([]byte, 23), Input: in}, fault.InvalidArgument},
		{"no iv for zuc-256", "z256", ZUCRequest{Input: in}, fault.InvalidArgument},
		{"count for zuc-256", "z256", ZUCRequest{IV: make([]byte, 23), Count: 1, Input: in}, fault.InvalidArgument},
		{"derivation of a plain key", "z", ZUCRequest{Input: in, Derivation: &Derivation{DeviceID: "ue"}}, fault.InvalidArgument},
		{"no such version", "z", ZUCRequest{Input: in, Version: 2}, fault.InvalidArgument},
		{"sm4 key", "sm4", ZUCRequest{Input: in}, fault.KeyTypeMismatch},
	} {
		_, err := s.EEA3(ctx, "acme", c.key, c.req)
		wantCode(t, c.name+" (eea3)", err, c.code)
		_, err = s.EIA3(ctx, "acme", c.key, c.req)
		wantCode(t, c.name+" (eia3)", err, c.code)
	}
	for _, c := range []struct {
		key  string
		size int
	}{{"z", 8}, {"z", 16}, {"z256", 5}, {"z256", 32}} {
		_, err := s.EIA3(ctx, "acme", c.key, ZUCRequest{Input: in, MACSize: c.size, IV: map[string][]byte{"z256": make([]byte, 23)}[c.key]})
		wantCode(t, "mac_size", err, fault.InvalidArgument)
	}
	if _, err := s.MAC(ctx, "acme", "z", MACRequest{Input: in}); fault.CodeOf(err) != fault.KeyTypeMismatch {
		t.Errorf("MAC with a zuc key: %v", err)
	}
}

// TestZUCDerivation: a derived zuc-128 key gives each UE and session a
// key of its own, by the derivation sm4 keys use, with a 16-byte output.
func TestZUCDerivation(t *testing.T) {
	s, st, _ := newTestService(t)
	mustCreate(t, s, "acme", "root", device.ZUC128, derived)
	raw := rawMaterial(t, st, "acme", "root", 1)
	pdu := []byte("NAS message")
	d := &Derivation{DeviceID: "imsi-460001234567890"}
	kUE := kdf.Kdf(sm3.New, append(bytes.Clone(raw), deriveInfo(1, 1, d.DeviceID)...), 16)
	h, err := zuc.NewEIAHash(kUE, 9, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.EIA3(ctx, "acme", "root", ZUCRequest{Count: 9, Bearer: 1, Input: pdu, Derivation: d})
	if err != nil || !bytes.Equal(got.MAC, h.Finish(pdu, 8*len(pdu))) {
		t.Fatalf("EIA3 with a UE key = %x, %v", got.MAC, err)
	}
	macs := map[string]bool{}
	for _, d := range []Derivation{{DeviceID: "ue-1"}, {DeviceID: "ue-2"}, {DeviceID: "ue-1", Business: "nas", Session: "1"}, {DeviceID: "ue-1", Business: "nas", Session: "2"}} {
		got, err := s.EIA3(ctx, "acme", "root", ZUCRequest{Input: pdu, Derivation: &d})
		if err != nil {
			t.Fatal(err)
		}
		macs[string(got.MAC)] = true
	}
	if len(macs) != 4 {
		t.Errorf("4 derivations gave %d distinct MACs", len(macs))
	}
	if _, err := s.Create(ctx, "acme", CreateRequest{Name: "hm", Type: device.HMACSM3, Derived: true}); fault.CodeOf(err) != fault.InvalidArgument {
		t.Errorf("a derived hmac-sm3 key: %v", err)
	}
}
