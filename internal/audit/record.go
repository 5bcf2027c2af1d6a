package audit

import (
	"strings"
	"time"
)

// Record kinds.
const (
	// KindRequest marks a record that describes one request.
	KindRequest = "request"
	// KindCheckpoint marks a signed checkpoint over the records before it.
	KindCheckpoint = "checkpoint"
)

// Redacted replaces the HMAC of a sensitive field when no HMAC key is loaded.
const Redacted = "redacted"

// zeroHash is the prev of the record with seq 1.
var zeroHash = strings.Repeat("0", 64)

// Entry is what a handler reports about one request. Sensitive values are
// replaced by their HMAC-SM3 under the audit key and never stored.
type Entry struct {
	Time      time.Time // when the request arrived; zero (or a year outside 1-9999) means now
	RequestID string
	Tenant    string
	Accessor  string // the token accessor, never the token itself
	Operation string
	Object    string
	Status    int    // HTTP status of the response
	Code      string // error code, "" on success
	Remote    string // client address
	Sensitive map[string][]byte
	// Count, on a summary of sampled refusals, is how many requests it
	// stands for that were refused and not recorded one by one.
	Count uint64
}

// Record is one stored line of the audit log. The package documentation
// defines its hash and checkpoint signature.
type Record struct {
	Seq       uint64            `json:"seq"`
	Time      string            `json:"time"`
	Kind      string            `json:"kind"`
	RequestID string            `json:"request_id,omitempty"`
	Tenant    string            `json:"tenant,omitempty"`
	Accessor  string            `json:"accessor,omitempty"`
	Operation string            `json:"operation,omitempty"`
	Object    string            `json:"object,omitempty"`
	Status    int               `json:"status,omitempty"`
	Code      string            `json:"code,omitempty"`
	Remote    string            `json:"remote,omitempty"`
	HMAC      map[string]string `json:"hmac,omitempty"`
	Head      string            `json:"head,omitempty"`
	Count     uint64            `json:"count,omitempty"`
	Signature string            `json:"signature,omitempty"`
	PublicKey string            `json:"public_key,omitempty"`
	Prev      string            `json:"prev"`
	Hash      string            `json:"hash"`
	// Form is FormCompact for a record stored in the compact form, whose
	// hash is the digest of that form; 0 for one stored as JSON.
	Form int `json:"form,omitempty"`
}

// formatTime renders t as stored in a record.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// cleanString makes s valid UTF-8, so that a record survives a JSON round
// trip unchanged and its hash stays verifiable.
func cleanString(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}
