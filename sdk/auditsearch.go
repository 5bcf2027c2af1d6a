package sdk

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
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

// SearchAudit returns one page of the tenant's audit records, oldest
// first (in a cluster, node after node). A page may hold fewer records
// than asked, even none, while Next is set: the server bounds the records
// one call reads.
func (c *Client) SearchAudit(ctx context.Context, q AuditQuery) (AuditRecords, error) {
	v := url.Values{}
	for k, s := range map[string]string{"operation": q.Operation, "object": q.Object, "status": q.Status, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	for k, t := range map[string]time.Time{"from": q.From, "to": q.To} {
		if !t.IsZero() {
			v.Set(k, t.Format(time.RFC3339Nano))
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/v1/audit/records"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out AuditRecords
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// AllAuditRecords yields every audit record of the tenant that q selects,
// from q.After on, fetching a page at a time; it yields a failed page's
// error and stops.
func (c *Client) AllAuditRecords(ctx context.Context, q AuditQuery) iter.Seq2[AuditRecord, error] {
	return func(yield func(AuditRecord, error) bool) {
		for {
			page, err := c.SearchAudit(ctx, q)
			if err != nil {
				yield(AuditRecord{}, err)
				return
			}
			for _, r := range page.Items {
				if !yield(r, nil) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			q.After = page.Next
		}
	}
}
