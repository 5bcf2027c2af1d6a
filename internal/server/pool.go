package server

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mimacrypto/mima/internal/api"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/pool"
)

// openDevices opens every listed device once, to be closed with the node
// (the seal uses the same instance), and returns the key device: a
// software device without a devices list, else a pool of them (the first
// is the default).
func (n *node) openDevices() (device.Device, *pool.Pool, error) {
	if len(n.cfg.Devices) == 0 {
		return device.NewSoftware(), nil, nil
	}
	if n.cfg.DeviceHealthInterval <= 0 {
		return nil, nil, fmt.Errorf("device_health_interval must be positive")
	}
	n.opened = map[string]device.Device{}
	members := make([]pool.Member, len(n.cfg.Devices))
	for i, d := range n.cfg.Devices {
		dev, err := deviceTypes[d.Type](d)
		if err != nil {
			return nil, nil, fmt.Errorf("device %q: %w", d.Name, err)
		}
		if c, ok := dev.(io.Closer); ok {
			n.closers = append(n.closers, c)
		}
		n.opened[d.Name] = dev
		members[i] = pool.Member{Name: d.Name, Type: d.Type, Device: dev}
	}
	p, err := pool.New(members)
	if err != nil {
		return nil, nil, err
	}
	return p, p, nil
}

// runDeviceChecks checks the pool's devices now, logs those that fail, and
// keeps checking every interval until ctx ends.
func (n *node) runDeviceChecks(ctx context.Context) {
	if n.devices == nil {
		return
	}
	check := func() {
		// A device that hangs fails its check when the next one is due.
		cctx, cancel := context.WithTimeout(ctx, n.cfg.DeviceHealthInterval)
		defer cancel()
		n.devices.CheckHealth(cctx)
		for _, st := range n.devices.Status() {
			if !st.Healthy {
				n.log.Warn("crypto device failed its health check; its requests go to its peers", "device", st.Name, "error", st.LastError)
			}
		}
	}
	check()
	go func() {
		t := time.NewTicker(n.cfg.DeviceHealthInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				check()
			}
		}
	}()
}

// deviceMetrics exports each device's counters and health.
type deviceMetrics struct{ p *pool.Pool }

var (
	deviceOps     = prometheus.NewDesc("mima_device_ops_total", "Calls to a crypto device of the pool.", []string{"device"}, nil)
	deviceErrors  = prometheus.NewDesc("mima_device_errors_total", "Calls that a crypto device failed; a caller's bad input is not counted.", []string{"device"}, nil)
	deviceLatency = prometheus.NewDesc("mima_device_latency_seconds_total", "Total duration of the calls to a crypto device; divide by mima_device_ops_total for the mean.", []string{"device"}, nil)
	deviceHealthy = prometheus.NewDesc("mima_device_healthy", "1 when the device passed its last known-answer health check and has not failed since.", []string{"device"}, nil)
	deviceDrained = prometheus.NewDesc("mima_device_drained", "1 when an operator drained the device.", []string{"device"}, nil)
)

// Describe sends the metrics' descriptions.
func (m deviceMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{deviceOps, deviceErrors, deviceLatency, deviceHealthy, deviceDrained} {
		ch <- d
	}
}

// Collect sends every device's values.
func (m deviceMetrics) Collect(ch chan<- prometheus.Metric) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, st := range m.p.Status() {
		ch <- prometheus.MustNewConstMetric(deviceOps, prometheus.CounterValue, float64(st.Ops), st.Name)
		ch <- prometheus.MustNewConstMetric(deviceErrors, prometheus.CounterValue, float64(st.Errors), st.Name)
		ch <- prometheus.MustNewConstMetric(deviceLatency, prometheus.CounterValue, st.Latency.Seconds(), st.Name)
		ch <- prometheus.MustNewConstMetric(deviceHealthy, prometheus.GaugeValue, b(st.Healthy), st.Name)
		ch <- prometheus.MustNewConstMetric(deviceDrained, prometheus.GaugeValue, b(st.Drained), st.Name)
	}
}

// deviceOptions serves the pool's devices and their metrics.
func (n *node) deviceOptions() api.Option {
	if n.devices == nil {
		return func(*api.Server) {}
	}
	return func(s *api.Server) {
		api.WithDevices(n.devices)(s)
		api.WithCollectors(deviceMetrics{n.devices})(s)
	}
}
