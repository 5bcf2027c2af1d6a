package sdk

import (
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
