package cms

import (
	"bytes"
	"encoding/asn1"
	"testing"
	"time"
)

// toBER re-encodes DER the way BER producers do: every constructed
// element with an indefinite length, and every universal OCTET STRING
// longer than 8 bytes as a constructed string of 8-byte pieces.
func toBER(t testing.TB, der []byte) []byte {
	t.Helper()
	var out []byte
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			t.Fatal(err)
		}
		tag := v.FullBytes[:len(v.FullBytes)-len(v.Bytes)]
		tag = tag[:tagLength(tag)]
		switch {
		case v.IsCompound:
			out = append(out, tag...)
			out = append(out, 0x80)
			out = append(out, toBER(t, v.Bytes)...)
			out = append(out, 0, 0)
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString && len(v.Bytes) > 8:
			out = append(out, 0x24, 0x80)
			for b := v.Bytes; len(b) > 0; b = b[min(8, len(b)):] {
				out = appendTLV(out, []byte{0x04}, b[:min(8, len(b))])
			}
			out = append(out, 0, 0)
		default:
			out = append(out, v.FullBytes...)
		}
		der = rest
	}
	return out
}

func tagLength(header []byte) int {
	n, _, _ := identifierLen(header)
	return n
}

// TestBER converts BER to DER, and verifies a SignedData and opens an
// envelope sent in BER.
func TestBER(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.key(t, "root", "alice")
	e.key(t, "root", "bob", forEncryption)
	content := bytes.Repeat([]byte("0123456789"), 10)
	signed := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: content})
	ber := toBER(t, signed)
	if bytes.Equal(ber, signed) {
		t.Fatal("toBER changed nothing")
	}
	der, err := toDER(ber)
	if err != nil || !bytes.Equal(der, signed) {
		t.Fatalf("toDER(toBER(x)) != x: %v", err)
	}
	if r := e.verify(t, VerifyRequest{CMS: ber}); !r.Valid || !bytes.Equal(r.Content, content) {
		t.Errorf("BER SignedData: %+v", r)
	}
	bob, err := e.ca.CertificateForKey(ctx, tenant, "bob")
	if err != nil {
		t.Fatal(err)
	}
	env, err := e.s.Encrypt(EnvelopeRequest{Recipients: []string{bob.PEM()}, Content: content})
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := e.s.Decrypt(ctx, tenant, DecryptRequest{CMS: toBER(t, env), Key: "bob"}); err != nil || !bytes.Equal(pt, content) {
		t.Errorf("BER envelope: %v", err)
	}

	for _, tc := range []struct {
		name string
		in   []byte
		want []byte // nil: an error
	}{
		{"primitive", []byte{0x02, 0x01, 0x05}, []byte{0x02, 0x01, 0x05}},
		{"indefinite", []byte{0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00}, []byte{0x30, 0x03, 0x02, 0x01, 0x05}},
		{"long form length", []byte{0x04, 0x81, 0x01, 0xaa}, []byte{0x04, 0x01, 0xaa}},
		{"nested constructed octets", []byte{0x24, 0x80, 0x24, 0x80, 0x04, 0x01, 0x01, 0x00, 0x00, 0x04, 0x01, 0x02, 0x00, 0x00}, []byte{0x04, 0x02, 0x01, 0x02}},
		{"high tag number", []byte{0xbf, 0x81, 0x01, 0x80, 0x05, 0x00, 0x00, 0x00}, []byte{0xbf, 0x81, 0x01, 0x02, 0x05, 0x00}},
		{"trailing data", []byte{0x05, 0x00, 0x05, 0x00}, nil},
		{"truncated", []byte{0x30, 0x05, 0x02, 0x01}, nil},
		{"no end of contents", []byte{0x30, 0x80, 0x02, 0x01, 0x05}, nil},
		{"indefinite primitive", []byte{0x04, 0x80, 0x00, 0x00}, nil},
		{"octet string of integers", []byte{0x24, 0x03, 0x02, 0x01, 0x05}, nil},
		{"length too long", []byte{0x04, 0x85, 1, 1, 1, 1, 1}, nil},
		{"empty", nil, nil},
		{"too deep", bytes.Repeat([]byte{0x30, 0x80}, maxDepth+2), nil},
	} {
		got, err := toDER(tc.in)
		if tc.want == nil && err == nil || tc.want != nil && (err != nil || !bytes.Equal(got, tc.want)) {
			t.Errorf("%s: %x, %v", tc.name, got, err)
		}
	}
}

// TestGenTime encodes and reads GeneralizedTime with fractions.
func TestGenTime(t *testing.T) {
	at := time.Date(2026, 5, 4, 3, 2, 1, 120_000_000, time.UTC)
	for _, tc := range []struct {
		step time.Duration
		want string
	}{
		{time.Second, "20260504030201Z"},
		{100 * time.Millisecond, "20260504030201.1Z"},
		{time.Microsecond, "20260504030201.12Z"},
	} {
		v := genTime(at, tc.step)
		if string(v.Bytes) != tc.want {
			t.Errorf("%s: %s", tc.step, v.Bytes)
		}
		back, err := parseGenTime(v)
		if err != nil || !back.Equal(at.Truncate(tc.step)) {
			t.Errorf("%s: back %s, %v", tc.step, back, err)
		}
	}
	for _, s := range []string{"20260504030201", "20260504030201.Z", "20260504030201.1234567890Z", "20260504030201.1aZ", "2026050403Z", "20261504030201Z"} {
		if _, err := parseGenTime(asn1.RawValue{Tag: asn1.TagGeneralizedTime, Bytes: []byte(s)}); err == nil {
			t.Errorf("%s parses", s)
		}
	}
	if _, err := parseGenTime(asn1.RawValue{Tag: asn1.TagUTCTime, Bytes: []byte("260504030201Z")}); err == nil {
		t.Error("UTCTime parses as genTime")
	}
}
