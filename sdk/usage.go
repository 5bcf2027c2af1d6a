package sdk

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Usage is the calls one node served, per minute, grouped by operation,
// key or tenant.
type Usage struct {
	Series []UsageSeries `json:"series"`
}

// UsageSeries is the calls of one operation, key or tenant.
type UsageSeries struct {
	Name   string       `json:"name"`
	Count  uint64       `json:"count"`
	Errors uint64       `json:"errors"`
	Points []UsagePoint `json:"points"`
}

// UsagePoint is one minute of a series; latencies are in milliseconds.
type UsagePoint struct {
	Time   time.Time `json:"time"`
	Count  uint64    `json:"count"`
	Errors uint64    `json:"errors"`
	P50    float64   `json:"p50_ms"`
	P90    float64   `json:"p90_ms"`
	P99    float64   `json:"p99_ms"`
}

// UsageQuery selects usage: the window [From, To) (zero: the last hour)
// and the grouping By ("operation", "key", or for the root token
// "tenant").
type UsageQuery struct {
	From, To time.Time
	By       string
}

// Usage reads the usage meter of the tenant the client acts in.
func (c *Client) Usage(ctx context.Context, q UsageQuery) (Usage, error) {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339))
	}
	if q.By != "" {
		v.Set("by", q.By)
	}
	path := "/v1/usage"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var u Usage
	return u, c.do(ctx, http.MethodGet, path, nil, &u)
}
