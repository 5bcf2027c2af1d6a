package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// specHash recomputes a record's hash straight from the package doc, without
// the package's own encoder.
func specHash(r *Record) string {
	var b bytes.Buffer
	u64 := func(v uint64) { binary.Write(&b, binary.BigEndian, v) }
	str := func(s string) { u64(uint64(len(s))); b.WriteString(s) }
	str("mima/audit/record/v1")
	u64(r.Seq)
	for _, s := range []string{r.Time, r.Kind, r.RequestID, r.Tenant, r.Accessor, r.Operation, r.Object} {
		str(s)
	}
	binary.Write(&b, binary.BigEndian, int64(r.Status))
	str(r.Code)
	str(r.Remote)
	u64(uint64(len(r.HMAC)))
	var names []string
	for n := range r.HMAC {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		str(n)
		str(r.HMAC[n])
	}
	str(r.Head)
	u64(r.Count)
	str(r.Signature)
	str(r.PublicKey)
	str(r.Prev)
	sum := sm3.Sum(b.Bytes())
	return hex.EncodeToString(sum[:])
}

func TestHashMatchesDocumentedEncoding(t *testing.T) {
	sink := NewMemorySink(0)
	l := newLogger(t, sink, newKey(t), WithCheckpointEvery(2), withJSONRecords())
	e := entry(1)
	e.Status = -1
	e.Code = "internal"
	e.Sensitive = map[string][]byte{"zeta": []byte("z"), "alpha": []byte("a"), "mid": nil}
	if err := l.Log(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	logN(t, l, 2, 1)
	recs := records(t, sink)
	if kinds(recs) != "rrc" || len(recs[0].HMAC) != 3 {
		t.Fatalf("records = %s", kinds(recs))
	}
	for _, r := range recs {
		if got := specHash(r); got != r.Hash {
			t.Fatalf("record %d: spec hash %s, stored %s", r.Seq, got, r.Hash)
		}
	}
}

func TestCheckpointSignature(t *testing.T) {
	key := newKey(t)
	tl := newTestLog(t, key)
	cp := tl.mustRecord(t, 4)
	var msg bytes.Buffer
	for _, s := range []string{"mima/audit/checkpoint/v1", cp.Head} {
		binary.Write(&msg, binary.BigEndian, uint64(len(s)))
		msg.WriteString(s)
	}
	binary.Write(&msg, binary.BigEndian, cp.Count)
	binary.Write(&msg, binary.BigEndian, uint64(len(cp.Time)))
	msg.WriteString(cp.Time)
	sig, err := base64.StdEncoding.DecodeString(cp.Signature)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(&key.PublicKey, nil, msg.Bytes(), sig) {
		t.Fatal("checkpoint signature does not verify with the audit key")
	}
	if sm2.VerifyASN1WithSM2(&newKey(t).PublicKey, nil, msg.Bytes(), sig) {
		t.Fatal("checkpoint signature verifies with another key")
	}
	der, err := base64.StdEncoding.DecodeString(cp.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if !key.PublicKey.Equal(pub) {
		t.Fatal("public_key is not the audit key")
	}
}

func TestParseRecordRejects(t *testing.T) {
	good := newTestLog(t, newKey(t))
	req, cp := string(good.lines[0]), string(good.lines[4])
	replace := func(s, old, new string) []byte {
		out := bytes.Replace([]byte(s), []byte(old), []byte(new), 1)
		if bytes.Equal(out, []byte(s)) {
			t.Fatalf("%q not found in %s", old, s)
		}
		return out
	}
	r0 := good.mustRecord(t, 0)
	c4 := good.mustRecord(t, 4)
	c4.PublicKey = ""
	withoutKey, err := json.Marshal(c4)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		line []byte
		want error
	}{
		{"not json", []byte("seq=1"), ErrUnparseable},
		{"unknown field", replace(req, `{"seq":1,`, `{"seq":1,"x":1,`), ErrUnparseable},
		{"wrong type", replace(req, `"seq":1`, `"seq":"1"`), ErrUnparseable},
		{"duplicate key", replace(req, `{"seq":1,`, `{"seq":1,"seq":1,`), ErrNonCanonical},
		{"key case", replace(req, `"seq":1`, `"SEQ":1`), ErrNonCanonical},
		{"trailing bytes", append([]byte(req), ' '), ErrNonCanonical},
		{"empty hmac", replace(req, `"prev"`, `"hmac":{},"prev"`), ErrNonCanonical},
		{"seq zero", replace(req, `"seq":1`, `"seq":0`), ErrMalformed},
		{"uppercase hash", replace(req, r0.Hash, strings.ToUpper(r0.Hash)), ErrMalformed},
		{"local time", replace(req, `Z"`, `+00:00"`), ErrMalformed},
		{"unknown kind", replace(req, `"request"`, `"other"`), ErrMalformed},
		{"request with signature", replace(req, `"prev"`, `"signature":"x","prev"`), ErrMalformed},
		{"checkpoint with tenant", replace(cp, `"kind":"checkpoint",`, `"kind":"checkpoint","tenant":"t",`), ErrMalformed},
		{"checkpoint without key", withoutKey, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseRecord(tc.line); !errors.Is(err, tc.want) {
				t.Fatalf("ParseRecord(%s) = %v, want %v", tc.line, err, tc.want)
			}
		})
	}
	for i, line := range good.lines {
		if _, err := ParseRecord(line); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
}
