package sdk

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Device describes a crypto device of the server's pool.
type Device struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Healthy: the device passed its last known-answer health check and
	// has not failed since.
	Healthy bool `json:"healthy"`
	// Drained: taken out by an operator; it gets no new keys and serves
	// only keys that no other device holds.
	Drained   bool       `json:"drained"`
	LastCheck *time.Time `json:"last_check,omitempty"`
	// LastError is why the last health check failed.
	LastError string `json:"last_error,omitempty"`
	// Ops counts the calls to the device and Errors those the device
	// failed (bad input is not its failure); LatencySeconds is their
	// total duration.
	Ops            uint64  `json:"ops"`
	Errors         uint64  `json:"errors"`
	LatencySeconds float64 `json:"latency_seconds"`
}

// DeviceList is the devices of the pool, in configuration order.
type DeviceList struct {
	Devices []Device `json:"devices"`
}

// DrainRequest drains a device or, with Drained false, puts it back.
type DrainRequest struct {
	Drained *bool `json:"drained,omitempty"`
}

// ListDevices describes the devices of the server's pool (root token).
func (c *Client) ListDevices(ctx context.Context) ([]Device, error) {
	var l DeviceList
	return l.Devices, c.do(ctx, http.MethodGet, "/v1/sys/devices", nil, &l)
}

// DeviceStatus describes one device (root token).
func (c *Client) DeviceStatus(ctx context.Context, name string) (Device, error) {
	var d Device
	return d, c.do(ctx, http.MethodGet, "/v1/sys/devices/"+url.PathEscape(name), nil, &d)
}

// DrainDevice takes a device out of the pool (drained true) or puts it
// back (root token). The state is the answering node's, not stored.
func (c *Client) DrainDevice(ctx context.Context, name string, drained bool) (Device, error) {
	var d Device
	return d, c.do(ctx, http.MethodPost, "/v1/sys/devices/"+url.PathEscape(name)+"/drain", DrainRequest{Drained: &drained}, &d)
}
