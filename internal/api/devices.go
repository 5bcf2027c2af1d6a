package api

import (
	"github.com/mimacrypto/mima/internal/device/pool"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/sdk"
)

// Devices is the device pool that the /v1/sys/devices routes show and
// drain; *pool.Pool implements it.
type Devices interface {
	Status() []pool.Status
	MemberStatus(name string) (pool.Status, bool)
	Drain(name string, drained bool) error
}

// WithDevices serves the pool's devices; without it the server has one
// key device and the list is empty.
func WithDevices(d Devices) Option { return func(s *Server) { s.devices = d } }

func deviceOf(st pool.Status) sdk.Device {
	d := sdk.Device{Name: st.Name, Type: st.Type, Healthy: st.Healthy, Drained: st.Drained, LastError: st.LastError,
		Ops: st.Ops, Errors: st.Errors, LatencySeconds: st.Latency.Seconds()}
	if !st.LastCheck.IsZero() {
		d.LastCheck = &st.LastCheck
	}
	return d
}

func (s *Server) listDevices(*call) (any, error) {
	out := sdk.DeviceList{Devices: []sdk.Device{}}
	if s.devices != nil {
		for _, st := range s.devices.Status() {
			out.Devices = append(out.Devices, deviceOf(st))
		}
	}
	return out, nil
}

// member returns the status of the device the path names.
func (s *Server) member(c *call) (pool.Status, error) {
	if s.devices != nil {
		if st, ok := s.devices.MemberStatus(c.object); ok {
			return st, nil
		}
	}
	return pool.Status{}, fault.New(fault.NotFound, "no device %q; GET /v1/sys/devices lists them", c.object)
}

func (s *Server) getDevice(c *call) (any, error) {
	st, err := s.member(c)
	if err != nil {
		return nil, err
	}
	return deviceOf(st), nil
}

// drainDevice takes the device out (or back, with "drained": false).
func (s *Server) drainDevice(c *call) (any, error) {
	var req sdk.DrainRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if _, err := s.member(c); err != nil {
		return nil, err
	}
	drained := req.Drained == nil || *req.Drained
	if err := s.devices.Drain(c.object, drained); err != nil {
		return nil, err
	}
	return s.getDevice(c)
}
