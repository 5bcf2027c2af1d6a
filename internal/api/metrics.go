package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mimacrypto/mima/internal/sealstate"
)

// metrics holds the Prometheus collectors of one Server.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// WithCollectors adds the node's own metrics (the audit export lag, …)
// to /metrics.
func WithCollectors(cs ...prometheus.Collector) Option {
	return func(s *Server) { s.extra = append(s.extra, cs...) }
}

func newMetrics(c *sealstate.Machine, extra ...prometheus.Collector) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mima_http_requests_total",
			Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mima_http_request_duration_seconds",
			Help:    "HTTP request latency by route, including audit.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	sealed := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mima_sealed",
		Help: "1 when this node is sealed, 0 when unsealed.",
	}, func() float64 {
		if c.Sealed() {
			return 1
		}
		return 0
	})
	m.reg.MustRegister(m.requests, m.latency, sealed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(extra...)
	return m
}

// observer returns the function that records one request of a route.
func (m *metrics) observer(route string) func(status int, d time.Duration) {
	hist := m.latency.WithLabelValues(route)
	return func(status int, d time.Duration) {
		m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		hist.Observe(d.Seconds())
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
