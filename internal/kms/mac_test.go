package kms

import (
	"bytes"
	"crypto/hmac"
	"testing"

	"github.com/emmansun/gmsm/cbcmac"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

func TestMAC(t *testing.T) {
	s, st, _ := newTestService(t)
	mustCreate(t, s, "acme", "h", device.HMACSM3)
	mustCreate(t, s, "acme", "c", device.SM4)
	mustCreate(t, s, "acme", "asym", device.SM2)
	msg := []byte("message to authenticate")

	hm := hmac.New(sm3.New, rawMaterial(t, st, "acme", "h", 1))
	hm.Write(msg)
	block, err := sm4.NewCipher(rawMaterial(t, st, "acme", "c", 1))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"h": hm.Sum(nil), "c": cbcmac.NewCMAC(block, 16).MAC(msg)}

	for key, w := range want {
		res, err := s.MAC(ctx, "acme", key, MACRequest{Input: msg})
		if err != nil || res.Version != 1 || !bytes.Equal(res.MAC, w) {
			t.Fatalf("%s: MAC = %x (v%d), %v; want %x", key, res.MAC, res.Version, err, w)
		}
		for _, tc := range []struct {
			name string
			mac  []byte
			in   []byte
			want bool
		}{
			{"valid", w, msg, true},
			{"other message", w, []byte("other"), false},
			{"truncated", w[:len(w)-1], msg, false},
			{"extended", append(bytes.Clone(w), 0), msg, false},
			{"flipped", append([]byte{w[0] ^ 1}, w[1:]...), msg, false},
			{"empty", nil, msg, false},
		} {
			ok, err := s.VerifyMAC(ctx, "acme", key, VerifyMACRequest{Input: tc.in, MAC: tc.mac})
			if err != nil || ok != tc.want {
				t.Errorf("%s %s: VerifyMAC = %v, %v; want %v", key, tc.name, ok, err, tc.want)
			}
		}
	}
	if _, err := s.Rotate(ctx, "acme", "h"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.VerifyMAC(ctx, "acme", "h", VerifyMACRequest{Input: msg, MAC: want["h"]}); ok {
		t.Error("the latest version verified a MAC of version 1")
	}
	if ok, err := s.VerifyMAC(ctx, "acme", "h", VerifyMACRequest{Input: msg, MAC: want["h"], Version: 1}); !ok || err != nil {
		t.Errorf("version 1 MAC: %v, %v", ok, err)
	}
	_, err = s.MAC(ctx, "acme", "asym", MACRequest{Input: msg})
	wantCode(t, "sm2 MAC", err, fault.KeyTypeMismatch)
	if res, err := s.HMAC(ctx, "acme", "h", MACRequest{Input: msg, Version: 1}); err != nil || !bytes.Equal(res.MAC, want["h"]) {
		t.Errorf("HMAC = %x, %v; want %x", res.MAC, err, want["h"])
	}
	_, err = s.HMAC(ctx, "acme", "c", MACRequest{Input: msg})
	wantCode(t, "HMAC with an sm4 key", err, fault.KeyTypeMismatch)
	_, err = s.MAC(ctx, "acme", "h", MACRequest{Input: msg, Version: 5})
	wantCode(t, "absent version", err, fault.InvalidArgument)
	_, err = s.MAC(ctx, "acme", "h", MACRequest{Input: msg, Derivation: &Derivation{DeviceID: "d"}})
	wantCode(t, "derivation on hmac", err, fault.InvalidArgument)
}
