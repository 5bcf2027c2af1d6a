// Package pool is a device.Device made of several member devices: the
// crypto resource pool of docs/devices.md.
//
// A key is placed on one member (the one a context from
// device.WithPlacement names, or a serving member of the default's type)
// and replicated, by Backup on that member and Restore on the others, to
// every serving peer of the same type: a key placed on an HSM never lands
// in a software device. A member whose keys may not leave it
// (ErrNotSupported from Backup) keeps its keys alone. The pool's stored
// form names the placement and every replica's stored form:
//
//	"\x00mima-pool\x01" || JSON {"on": <member>, "replicas": [{"device": <member>, "stored": <base64>}, ...]}
//
// Any other stored form is the default member's own, so that records
// written by a single device open unchanged in a pool that starts with it.
// A backup form is the backup form of one replica's device, tagged with
// the device's type when it is not the default's (see Backup), and
// restores only on a member of that type.
//
// Each operation goes to a healthy member holding a replica, spread
// round-robin; ErrBusy or ErrUnavailable sends it to the next one, and
// ErrUnavailable also takes the member out until it passes a health check.
// CheckHealth, which the server runs periodically, puts every member
// through kat.Check, the known-answer test; a member that fails is taken
// out until it passes.
// Drain takes a member out by hand: it gets no new keys and serves only
// keys no other serving member holds.
package pool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/kat"
)

// Member is a device of the pool.
type Member struct {
	// Name identifies the member in placements, stored forms and the API.
	Name string
	// Type is the kind of device ("software", "pkcs11"); keys replicate
	// only between members of the same type.
	Type   string
	Device device.Device
}

// Pool is a device.Device over its members. It is safe for concurrent use.
type Pool struct {
	members []*member
	byName  map[string]*member
	next    atomic.Uint64 // round-robin start
	check   func(context.Context, device.Device) error
}

var _ device.Placer = (*Pool)(nil)

// member is a Member with its state.
type member struct {
	Member
	down    atomic.Bool // failed its health check or an operation
	drained atomic.Bool
	stats   stats

	mu        sync.Mutex
	lastCheck time.Time
	lastError string
}

// serving reports whether the member takes new work.
func (m *member) serving() bool { return !m.down.Load() && !m.drained.Load() }

// Option configures a Pool.
type Option func(*Pool)

// WithCheck replaces the health check, kat.Check by default.
func WithCheck(check func(context.Context, device.Device) error) Option {
	return func(p *Pool) { p.check = check }
}

// New returns a pool of members; the first is the default: it takes the
// keys of no placement (with its peers of the same type) and owns stored
// forms that are not the pool's. Names must be unique and not empty.
func New(members []Member, opts ...Option) (*Pool, error) {
	if len(members) == 0 {
		return nil, errors.New("pool: no devices")
	}
	p := &Pool{byName: map[string]*member{}, check: kat.Check}
	for _, o := range opts {
		o(p)
	}
	for _, m := range members {
		if m.Name == "" || m.Device == nil {
			return nil, errors.New("pool: every device needs a name and a device")
		}
		if _, dup := p.byName[m.Name]; dup {
			return nil, fmt.Errorf("pool: two devices are named %q", m.Name)
		}
		mm := &member{Member: m}
		p.members = append(p.members, mm)
		p.byName[m.Name] = mm
	}
	return p, nil
}

// Members names the member devices in configuration order.
func (p *Pool) Members() []string {
	names := make([]string, len(p.members))
	for i, m := range p.members {
		names[i] = m.Name
	}
	return names
}

// Random reads from the first serving member's generator, the default's
// when none serves.
func (p *Pool) Random() io.Reader { return poolRandom{p} }

type poolRandom struct{ p *Pool }

func (r poolRandom) Read(b []byte) (int, error) {
	for _, m := range r.p.members {
		if m.serving() {
			return m.Device.Random().Read(b)
		}
	}
	return r.p.members[0].Device.Random().Read(b)
}

// retryable reports whether another member may succeed where one failed.
func retryable(err error) bool {
	return errors.Is(err, device.ErrBusy) || errors.Is(err, device.ErrUnavailable)
}

// call runs fn on m, keeping its statistics, and takes m out when it
// reports itself unavailable.
func call[T any](m *member, fn func() (T, error)) (T, error) {
	start := time.Now()
	v, err := fn()
	m.stats.record(time.Since(start), err)
	if errors.Is(err, device.ErrUnavailable) {
		m.down.Store(true)
	}
	return v, err
}

// noDevice is the error when no member can serve.
func noDevice(last error) error {
	if last != nil {
		return last
	}
	return fmt.Errorf("pool: no healthy device can serve: %w", device.ErrUnavailable)
}

// targets are the members a new key may be placed on, in the order to
// try: the member ctx names alone, or the serving members of type typ
// from the round-robin start.
func (p *Pool) targets(ctx context.Context, typ string) ([]*member, error) {
	if name := device.Placement(ctx); name != "" {
		m, ok := p.byName[name]
		if !ok {
			return nil, fmt.Errorf("pool: no device named %q: %w", name, device.ErrNotSupported)
		}
		if m.Type != typ {
			return nil, fmt.Errorf("pool: the key comes from a %s device and cannot go on %q, a %s device: %w", typ, name, m.Type, device.ErrNotSupported)
		}
		if !m.serving() {
			return nil, fmt.Errorf("pool: device %q is drained or failed its health check: %w", name, device.ErrUnavailable)
		}
		return []*member{m}, nil
	}
	var out []*member
	start := int(p.next.Add(1))
	for i := range p.members {
		m := p.members[(start+i)%len(p.members)]
		if m.serving() && m.Type == typ {
			out = append(out, m)
		}
	}
	return out, nil
}

// defaultType is the type of the default member.
func (p *Pool) defaultType() string { return p.members[0].Type }

// Generate creates the key on a target member and replicates it.
func (p *Pool) Generate(ctx context.Context, t device.KeyType) ([]byte, error) {
	typ := p.defaultType()
	if m, ok := p.byName[device.Placement(ctx)]; ok {
		typ = m.Type
	}
	ms, err := p.targets(ctx, typ)
	if err != nil {
		return nil, err
	}
	var last error
	for _, m := range ms {
		stored, err := call(m, func() ([]byte, error) { return m.Device.Generate(ctx, t) })
		if retryable(err) {
			last = err
			continue
		}
		if err != nil {
			return nil, err
		}
		b, err := call(m, func() ([]byte, error) { return m.Device.Backup(ctx, t, stored) })
		if err != nil {
			b = nil // the key stays on m alone
		}
		return p.form(ctx, m, t, stored, b)
	}
	return nil, noDevice(last)
}

// Restore takes a backup form back on a target member of the type it
// came from and replicates it.
func (p *Pool) Restore(ctx context.Context, t device.KeyType, backup []byte) ([]byte, error) {
	typ, backup := p.parseBackup(backup)
	ms, err := p.targets(ctx, typ)
	if err != nil {
		return nil, err
	}
	var last error
	for _, m := range ms {
		stored, err := call(m, func() ([]byte, error) { return m.Device.Restore(ctx, t, backup) })
		if retryable(err) {
			last = err
			continue
		}
		if err != nil {
			return nil, err
		}
		return p.form(ctx, m, t, stored, backup)
	}
	return nil, noDevice(last)
}

// Unwrap imports the key on a member holding the wrapping key wk, a key
// of this pool, and replicates it.
func (p *Pool) Unwrap(ctx context.Context, wk device.Key, t device.KeyType, wrapped []byte) ([]byte, error) {
	pk, ok := wk.(interface{ handle() *handle })
	if !ok {
		return nil, fmt.Errorf("pool: the wrapping key is not a key of this pool: %w", device.ErrNotSupported)
	}
	h := pk.handle()
	var placed *member
	stored, err := do(ctx, h, func(m *member, k device.Key) ([]byte, error) {
		placed = m
		return m.Device.Unwrap(ctx, k, t, wrapped)
	})
	if err != nil {
		return nil, err
	}
	b, err := call(placed, func() ([]byte, error) { return placed.Device.Backup(ctx, t, stored) })
	if err != nil {
		b = nil
	}
	return p.form(ctx, placed, t, stored, b)
}

// form replicates a key placed on m with the given stored form to the
// serving peers of m's type (when backup is not nil) and returns the
// pool's stored form. A peer that fails to take the key is left out.
func (p *Pool) form(ctx context.Context, m *member, t device.KeyType, stored, backup []byte) ([]byte, error) {
	f := storedForm{On: m.Name, Replicas: []replica{{Device: m.Name, Stored: stored}}}
	for _, peer := range p.members {
		if backup == nil || peer == m || peer.Type != m.Type || !peer.serving() {
			continue
		}
		s, err := call(peer, func() ([]byte, error) { return peer.Device.Restore(ctx, t, backup) })
		if err == nil {
			f.Replicas = append(f.Replicas, replica{Device: peer.Name, Stored: s})
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("pool: encoding a stored form: %w", err)
	}
	return append([]byte(magic), b...), nil
}

// Backup returns the backup form from a member holding the key.
func (p *Pool) Backup(ctx context.Context, t device.KeyType, stored []byte) ([]byte, error) {
	f := p.parse(stored)
	var last error
	for _, i := range p.order(f.devices()) {
		r := f.Replicas[i]
		m := p.byName[r.Device]
		b, err := call(m, func() ([]byte, error) { return m.Device.Backup(ctx, t, r.Stored) })
		if retryable(err) {
			last = err
			continue
		}
		if err != nil || m.Type == p.defaultType() {
			return b, err
		}
		return append([]byte(backupMagic+m.Type+"\x00"), b...), nil
	}
	return nil, noDevice(last)
}

// backupMagic starts the backup form of a key on a member whose type is
// not the default's: backupMagic || type || 0x00 || that member's backup
// form. A backup of the default's type is that member's own form, so that
// backups move between a pool and a single device of that type.
const backupMagic = "\x00mima-pool-backup\x01"

// parseBackup returns the device type a backup form is for and the
// member's backup form.
func (p *Pool) parseBackup(b []byte) (string, []byte) {
	if rest, ok := bytes.CutPrefix(b, []byte(backupMagic)); ok {
		if typ, inner, ok := bytes.Cut(rest, []byte{0}); ok {
			return string(typ), inner
		}
	}
	return p.defaultType(), b
}

// magic starts the pool's stored form.
const magic = "\x00mima-pool\x01"

// storedForm is the pool's stored form after magic.
type storedForm struct {
	On       string    `json:"on"`
	Replicas []replica `json:"replicas"`
}

type replica struct {
	Device string `json:"device"`
	Stored []byte `json:"stored"`
}

// parse reads a stored form; one that is not the pool's belongs to the
// default member.
func (p *Pool) parse(stored []byte) storedForm {
	var f storedForm
	if rest, ok := bytes.CutPrefix(stored, []byte(magic)); ok && json.Unmarshal(rest, &f) == nil && len(f.Replicas) > 0 {
		return f
	}
	def := p.members[0].Name
	return storedForm{On: def, Replicas: []replica{{Device: def, Stored: slices.Clone(stored)}}}
}

// devices names the member of each replica.
func (f storedForm) devices() []string {
	names := make([]string, len(f.Replicas))
	for i, r := range f.Replicas {
		names[i] = r.Device
	}
	return names
}

// order returns the indexes of devices in the order to try them: serving
// members from the round-robin start, then drained ones. Members that are
// down are left out, and so are devices the pool does not have.
func (p *Pool) order(devices []string) []int {
	var serving, drained []int
	start := int(p.next.Add(1))
	for j := range devices {
		i := (start + j) % len(devices)
		m, ok := p.byName[devices[i]]
		switch {
		case !ok || m.down.Load():
		case m.drained.Load():
			drained = append(drained, i)
		default:
			serving = append(serving, i)
		}
	}
	return append(serving, drained...)
}
