// Package ee is the end entity of a V2X SCMS: what an on-board unit (or
// a roadside unit) does with it. It generates its keys, enrols with the
// ECA, asks the RA for a batch of pseudonym certificates with butterfly
// caterpillar keys, downloads them and reconstructs their private keys,
// signs basic safety messages, and verifies other devices' messages
// against the trust list and the CRLs.
//
// The state (keys included) is kept by the caller, e.g. in a file with
// mode 0600 (State); a production device keeps its keys in a secure
// element.
package ee

import (
	"context"
	"crypto/rand"
	"io"
	"time"

	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
	"github.com/mimacrypto/mima/internal/v2x/trust"
)

// Transport carries COER messages between the device and the SCMS.
type Transport interface {
	Enrol(ctx context.Context, spdu []byte) ([]byte, error)
	Request(ctx context.Context, spdu []byte) ([]byte, error)
	Download(ctx context.Context, spdu []byte) ([]byte, error)
	TrustList(ctx context.Context) ([]byte, error)
	CRL(ctx context.Context) ([]byte, error)
}

// Device is one end entity.
type Device struct {
	state   *State
	profile *sec.Profile
	trust   *trust.Store
	rand    io.Reader
	now     func() time.Time
}

// Option configures a Device.
type Option func(*Device)

// WithRand sets the randomness of keys and signatures.
func WithRand(r io.Reader) Option { return func(d *Device) { d.rand = r } }

// WithClock sets the device's clock.
func WithClock(now func() time.Time) Option { return func(d *Device) { d.now = now } }

// Open returns the device of a state, with its trust list and CRLs (if
// any) loaded.
func Open(st *State, opts ...Option) (*Device, error) {
	d := &Device{state: st, profile: sec.CN, rand: rand.Reader, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	if err := d.loadTrust(); err != nil {
		return nil, err
	}
	return d, nil
}

// State is the device's state, for the caller to keep.
func (d *Device) State() *State { return d.state }

// Trust is the device's trust store.
func (d *Device) Trust() *trust.Store { return d.trust }

// time64 is now as Time64.
func (d *Device) time64() *ieee1609.Time64 {
	t := ieee1609.Time64Of(d.now())
	return &t
}
