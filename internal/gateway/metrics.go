package gateway

import (
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus collectors.
type metrics struct {
	connections *prometheus.CounterVec
	active      prometheus.Gauge
	bytes       *prometheus.CounterVec // by direction, whose children are:
	bytesUp     prometheus.Counter     // from clients towards the forward address
	bytesDown   prometheus.Counter
	handshake   prometheus.Histogram
}

func newMetrics() *metrics {
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mima_gateway_bytes_total",
		Help: "Bytes relayed: up from clients to the forward address, down back.",
	}, []string{"direction"})
	return &metrics{
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mima_gateway_connections_total",
			Help: "Connections by outcome: accepted, handshake_failed, subject_not_allowed, forward_unreachable, audit_failed.",
		}, []string{"outcome"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mima_gateway_active_connections",
			Help: "Connections being relayed now.",
		}),
		bytes:     bytes,
		bytesUp:   bytes.WithLabelValues("up"),
		bytesDown: bytes.WithLabelValues("down"),
		handshake: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mima_gateway_handshake_duration_seconds",
			Help:    "Time from accepting a connection to both sides being ready, for handshakes that succeeded.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
}

func (m *metrics) register(r prometheus.Registerer) {
	r.MustRegister(m.connections, m.active, m.bytes, m.handshake)
}

// countingConn counts the bytes read from and written to a connection,
// and notes when data last moved.
type countingConn struct {
	net.Conn
	in, out       prometheus.Counter
	read, written atomic.Int64
	last          atomic.Int64 // Unix nanoseconds
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.count(c.in, &c.read, n)
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.count(c.out, &c.written, n)
	return n, err
}

func (c *countingConn) count(metric prometheus.Counter, total *atomic.Int64, n int) {
	if n > 0 {
		metric.Add(float64(n))
		total.Add(int64(n))
		c.last.Store(time.Now().UnixNano())
	}
}

// CloseWrite half-closes the connection when it can.
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}
