package sdk

import (
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
