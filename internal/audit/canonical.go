package audit

import (
	"encoding/binary"
	"encoding/hex"
	"slices"

	"github.com/emmansun/gmsm/sm3"
)

// Domain separation tags of the canonical encodings (see the package doc).
const (
	recordDomain     = "mima/audit/record/v1"
	checkpointDomain = "mima/audit/checkpoint/v1"
)

// canon builds a canonical encoding from length-prefixed fields.
type canon []byte

func (c canon) u64(v uint64) canon { return binary.BigEndian.AppendUint64(c, v) }

func (c canon) str(s string) canon { return append(c.u64(uint64(len(s))), s...) }

// appendCanonicalRecord appends to dst the bytes whose SM3 digest is r's
// hash.
func appendCanonicalRecord(dst []byte, r *Record) []byte {
	c := canon(dst).str(recordDomain).
		u64(r.Seq).
		str(r.Time).str(r.Kind).str(r.RequestID).str(r.Tenant).str(r.Accessor).
		str(r.Operation).str(r.Object).
		u64(uint64(int64(r.Status))).
		str(r.Code).str(r.Remote).
		u64(uint64(len(r.HMAC)))
	var few [4]string // a request has one or two sensitive fields
	names := few[:0]
	for name := range r.HMAC {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c = c.str(name).str(r.HMAC[name])
	}
	return c.str(r.Head).u64(r.Count).str(r.Signature).str(r.PublicKey).str(r.Prev)
}

// recordHash returns the hex SM3 hash of r as defined in the package doc,
// over its compact body for a compact record. The canonical bytes of a
// record are built on the stack unless the record is unusually large.
func recordHash(r *Record) string {
	var buf [1024]byte
	var canonical []byte
	if r.Form == FormCompact {
		canonical = appendCompactBody(buf[:0], r)
	} else {
		canonical = appendCanonicalRecord(buf[:0], r)
	}
	sum := sm3.Sum(canonical)
	return hex.EncodeToString(sum[:])
}

// checkpointMessage returns the bytes a checkpoint signature covers.
func checkpointMessage(head string, count uint64, time string) []byte {
	return canon(nil).str(checkpointDomain).str(head).u64(count).str(time)
}
