package sdk

import (
	"time"
)

// AuditRecord is one stored audit record of a request, as a search
// returns it. Prev and Hash chain it to its neighbours in Node's chain.
type AuditRecord struct {
	// Node names the cluster node whose chain holds the record; empty on a
	// single node.
	Node      string            `json:"node,omitempty"`
	Seq       uint64            `json:"seq"`
	Time      time.Time         `json:"time"`
	Kind      string            `json:"kind"`
	RequestID string            `json:"request_id,omitempty"`
	Tenant    string            `json:"tenant,omitempty"`
	Accessor  string            `json:"accessor,omitempty"`
	Operation string            `json:"operation,omitempty"`
	Object    string            `json:"object,omitempty"`
	Status    int               `json:"status,omitempty"` // 0: accepted, the outcome follows in a later record
	Code      string            `json:"code,omitempty"`
	Remote    string            `json:"remote,omitempty"`
	HMAC      map[string]string `json:"hmac,omitempty"`
	Count     uint64            `json:"count,omitempty"`
	Prev      string            `json:"prev"`
	Hash      string            `json:"hash"`
}

// AuditRecords is one page of audit records; Next continues it.
type AuditRecords struct {
	Items []AuditRecord `json:"items"`
	Next  string        `json:"next,omitempty"`
}

// AuditQuery selects the audit records of the client's tenant; every set
// field must match.
type AuditQuery struct {
	From time.Time // at or after
	To   time.Time // before
	// Operation ("encrypt", "keys.create") and Object match exactly.
	Operation, Object string
	// Status is an HTTP status ("404") or class ("4xx").
	Status string
	After  string // cursor: a page's Next
	Limit  int    // page size, at most 1000; 0: the server's default of 100
}
