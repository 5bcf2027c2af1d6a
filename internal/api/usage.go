package api

import (
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/usage"
)

// usageAnswer is GET /v1/usage's answer; its JSON is sdk.Usage.
type usageAnswer struct {
	Series []usage.Series `json:"series"`
}

// usageQuery answers the calls this node served in the caller's tenant,
// per minute, grouped by operation or key; the root token may also group
// every tenant's calls by tenant. from defaults to an hour before to, to
// to the meter's now.
func (s *Server) usageQuery(c *call) (any, error) {
	q := c.r.URL.Query()
	to, err := timeParam(q.Get("to"), s.usage.Now())
	if err != nil {
		return nil, err
	}
	from, err := timeParam(q.Get("from"), to.Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, fault.New(fault.InvalidArgument, "from must be before to")
	}
	tenant := c.tenant
	switch by := q.Get("by"); by {
	case "", usage.ByOperation, usage.ByKey:
		if by == "" {
			by = usage.ByOperation
		}
		return usageAnswer{Series: s.usage.Query(tenant, from, to, by)}, nil
	case usage.ByTenant:
		if !c.token.Root {
			return nil, fault.New(fault.PermissionDenied, "only the root token sees the usage of every tenant")
		}
		return usageAnswer{Series: s.usage.Query("", from, to, by)}, nil
	default:
		return nil, fault.New(fault.InvalidArgument, "by must be operation, key or tenant")
	}
}

// timeParam parses an RFC 3339 query parameter, def when it is empty.
func timeParam(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fault.New(fault.InvalidArgument, "times are RFC 3339, like 2026-03-01T10:00:00Z")
	}
	return t, nil
}
