package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Parse failures; ParseRecord wraps exactly one of them.
var (
	// ErrUnparseable means a line is not a JSON record.
	ErrUnparseable = errors.New("audit: unparseable record")
	// ErrNonCanonical means a line decodes but is not the exact encoding
	// the logger writes, so some byte of it was changed.
	ErrNonCanonical = errors.New("audit: non-canonical record encoding")
	// ErrMalformed means a record's fields are inconsistent with its kind.
	ErrMalformed = errors.New("audit: malformed record")
)

// ParseRecord decodes one stored line (without its '\n'), compact or
// JSON. It checks the record's form, not its hash, chain or signature:
// that is Verify's job.
func ParseRecord(line []byte) (*Record, error) {
	if isCompact(line) {
		return parseCompact(line)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnparseable, err)
	}
	again, err := json.Marshal(&r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnparseable, err)
	}
	if !bytes.Equal(again, line) {
		return nil, ErrNonCanonical
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &r, nil
}

// validate checks the fields that do not depend on other records.
func (r *Record) validate() error {
	if r.Seq == 0 {
		return errors.New("seq must start at 1")
	}
	if _, err := recordTime(r.Time); err != nil {
		return err
	}
	if !isHash(r.Prev) || !isHash(r.Hash) {
		return errors.New("prev and hash must be 64 lowercase hex digits")
	}
	switch r.Kind {
	case KindRequest:
		if r.Head != "" || r.Signature != "" || r.PublicKey != "" {
			return errors.New("request record carries checkpoint fields")
		}
	case KindCheckpoint:
		if r.RequestID != "" || r.Tenant != "" || r.Accessor != "" || r.Operation != "" ||
			r.Object != "" || r.Status != 0 || r.Code != "" || r.Remote != "" || r.HMAC != nil {
			return errors.New("checkpoint carries request fields")
		}
		if !isHash(r.Head) || r.Signature == "" || r.PublicKey == "" {
			return errors.New("checkpoint lacks head, signature or public key")
		}
	default:
		return fmt.Errorf("unknown kind %q", r.Kind)
	}
	if r.Form != 0 && (r.Form != FormCompact || !compactable(r)) {
		return fmt.Errorf("form %d does not fit the record", r.Form)
	}
	return nil
}

// isHash reports whether s is a lowercase hex SM3 digest.
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
