package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// auditWriteMetrics are the histograms of the audit log's group commits:
// how long a batch took to become durable, and how many lines it held.
// With PostgreSQL storage the first is the database's commit latency plus
// the network's round trip, which every audited request waits for.
type auditWriteMetrics struct {
	took  prometheus.Histogram
	lines prometheus.Histogram
}

func newAuditWriteMetrics() auditWriteMetrics {
	return auditWriteMetrics{
		took: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mima_audit_write_seconds",
			Help:    "Time from sending a batch of audit records to the log until it is durable.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100 µs to 3.3 s
		}),
		lines: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mima_audit_batch_lines",
			Help:    "Lines (records and checkpoints) in each batch written to the audit log.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10), // 1 to 512, the largest batch
		}),
	}
}

// observe records one durable batch (audit.WithWriteObserver).
func (m auditWriteMetrics) observe(lines int, took time.Duration) {
	m.took.Observe(took.Seconds())
	m.lines.Observe(float64(lines))
}
