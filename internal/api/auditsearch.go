package api

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/sdk"
)

// searchMaxRead bounds the records one call of GET /v1/audit/records
// reads (segments that their index rules out are not read); a page that
// reaches it ends early with a cursor.
const searchMaxRead = 1_000_000

// searchAudit returns a page of the caller's tenant's audit records from
// every chain of the cluster, chain after chain in node order. The tenant
// is the call's, so a tenant admin sees its own records only.
func (s *Server) searchAudit(c *call) (any, error) {
	if s.auditSrc.Chains == nil {
		return nil, fault.New(fault.NotFound, "this server keeps no readable audit log")
	}
	q, node, err := auditQuery(c)
	if err != nil {
		return nil, err
	}
	chains, err := s.auditSrc.Chains(c.ctx)
	if err != nil {
		return nil, err
	}
	out := sdk.AuditRecords{Items: []sdk.AuditRecord{}}
	left, read := q.Limit, searchMaxRead
	for _, n := range slices.Sorted(maps.Keys(chains)) {
		if n < node {
			continue
		}
		if read == 0 { // the chain before ended just as the bound was reached
			out.Next = searchCursor(n, 0)
			break
		}
		if n != node {
			q.After = 0
		}
		q.Limit, q.MaxRead = left, read
		page, err := audit.Search(c.ctx, chains[n], q)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			out.Items = append(out.Items, AuditRecord(n, r))
		}
		left, read = left-len(page.Records), read-page.Read
		if page.Next != 0 {
			out.Next = searchCursor(n, page.Next)
			break
		}
	}
	return out, nil
}

// auditQuery reads the search's filters, page size and cursor (the node
// whose chain it continues and the seq after which) from the query
// string.
func auditQuery(c *call) (q audit.Query, node string, err error) {
	v := c.r.URL.Query()
	if t := v.Get("tenant"); t != "" && t != c.tenant {
		return q, "", fault.New(fault.PermissionDenied, "a search sees the records of the token's tenant only (the root token chooses one with %s)", TenantHeader)
	}
	q.Tenant, q.Operation, q.Object = c.tenant, v.Get("operation"), v.Get("object")
	for name, t := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
		if s := v.Get(name); s != "" {
			if *t, err = time.Parse(time.RFC3339, s); err != nil {
				return q, "", fault.New(fault.InvalidArgument, "%s must be an RFC 3339 time", name)
			}
		}
	}
	if q.Status, err = audit.ParseStatuses(v.Get("status")); err != nil {
		return q, "", err
	}
	n, err := c.limit()
	if err != nil {
		return q, "", err
	}
	if q.Limit, err = audit.SearchLimit(n); err != nil {
		return q, "", err
	}
	if after := v.Get("after"); after != "" {
		seq := after
		if i := strings.LastIndexByte(after, ':'); i >= 0 {
			node, seq = after[:i], after[i+1:]
		}
		if q.After, err = strconv.ParseUint(seq, 10, 64); err != nil {
			return q, "", fault.New(fault.InvalidArgument, "after must be the next cursor of a previous page")
		}
	}
	return q, node, nil
}

// searchCursor is the cursor of the page that continues node's chain
// after record seq: the seq alone on a single node, else node:seq.
func searchCursor(node string, seq uint64) string {
	if node == "" {
		return strconv.FormatUint(seq, 10)
	}
	return node + ":" + strconv.FormatUint(seq, 10)
}

// AuditRecord shows a stored request record of node's chain in the API's
// wire form; the CLI uses it for offline search too.
func AuditRecord(node string, r *audit.Record) sdk.AuditRecord {
	t, _ := time.Parse(time.RFC3339Nano, r.Time) // checked by the search
	return sdk.AuditRecord{
		Node: node, Seq: r.Seq, Time: t, Kind: r.Kind, RequestID: r.RequestID, Tenant: r.Tenant,
		Accessor: r.Accessor, Operation: r.Operation, Object: r.Object, Status: r.Status, Code: r.Code,
		Remote: r.Remote, HMAC: r.HMAC, Count: r.Count, Prev: r.Prev, Hash: r.Hash,
	}
}
