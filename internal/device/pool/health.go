package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mimacrypto/mima/internal/device"
)

// stats counts a member's operations.
type stats struct {
	ops, errors atomic.Uint64
	nanos       atomic.Int64 // total latency
}

func (s *stats) record(d time.Duration, err error) {
	s.ops.Add(1)
	s.nanos.Add(int64(d))
	if err != nil && !callerError(err) {
		s.errors.Add(1)
	}
}

// callerError reports whether err is the caller's doing (bad input, an
// operation the device does not offer, a cancelled request), not a
// failure of the device.
func callerError(err error) bool {
	for _, e := range []error{device.ErrDecrypt, device.ErrUnwrap, device.ErrInvalidMaterial, device.ErrNotSupported, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Status describes a member of the pool.
type Status struct {
	Name, Type string
	// Healthy: the member passed its last health check and has not
	// reported itself unavailable since.
	Healthy bool
	// Drained: taken out by Drain.
	Drained bool
	// LastCheck is the time of the last health check, zero before one.
	LastCheck time.Time
	// LastError is why the last health check failed, "" when it passed.
	LastError string
	// Ops counts the calls to the member and Errors those that the device
	// failed (not the caller's bad input, see callerError);
	// Latency is their total duration.
	Ops, Errors uint64
	Latency     time.Duration
}

// Status describes every member, in configuration order.
func (p *Pool) Status() []Status {
	out := make([]Status, len(p.members))
	for i, m := range p.members {
		out[i] = m.status()
	}
	return out
}

// MemberStatus describes the member name.
func (p *Pool) MemberStatus(name string) (Status, bool) {
	m, ok := p.byName[name]
	if !ok {
		return Status{}, false
	}
	return m.status(), true
}

func (m *member) status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Status{
		Name: m.Name, Type: m.Type, Healthy: !m.down.Load(), Drained: m.drained.Load(),
		LastCheck: m.lastCheck, LastError: m.lastError,
		Ops: m.stats.ops.Load(), Errors: m.stats.errors.Load(), Latency: time.Duration(m.stats.nanos.Load()),
	}
}

// Drain takes the member name out (drained true) or puts it back. A
// drained member gets no new keys and serves only keys that no serving
// member holds; the state is this process's, not stored.
func (p *Pool) Drain(name string, drained bool) error {
	m, ok := p.byName[name]
	if !ok {
		return fmt.Errorf("pool: no device named %q", name)
	}
	m.drained.Store(drained)
	return nil
}

// CheckHealth runs the health check on every member at once and takes out
// those that fail it; those that pass are back in.
func (p *Pool) CheckHealth(ctx context.Context) {
	var wg sync.WaitGroup
	for _, m := range p.members {
		wg.Go(func() {
			err := p.check(ctx, m.Device)
			m.mu.Lock()
			defer m.mu.Unlock()
			m.lastCheck = time.Now()
			m.lastError = ""
			if err != nil {
				m.lastError = err.Error()
			}
			m.down.Store(err != nil)
		})
	}
	wg.Wait()
}
