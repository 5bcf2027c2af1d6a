//go:build cgo && linux

package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/mimacrypto/mima/internal/device"
)

// Device is a PKCS#11 token. It is safe for concurrent use; Close ends
// its sessions.
type Device struct {
	cfg  Config
	mod  *module
	slot uint
	soft *device.Software

	login    pkcs11.SessionHandle // kept open: a token forgets the login when its last session closes
	capacity chan struct{}        // one per session in use
	idle     chan pkcs11.SessionHandle

	mu       sync.Mutex
	wrapKeys map[string]pkcs11.ObjectHandle // by CKA_ID
	labels   map[string][]byte              // CKA_ID by CKA_LABEL
}

var _ device.Device = (*Device)(nil)

// New loads cfg.Library, finds the token labelled cfg.TokenLabel and logs
// in with the PIN from cfg.PINEnv. A missing module, token or PIN is an
// error that names it, wrapped with device.ErrUnavailable.
func New(cfg Config) (*Device, error) {
	if cfg.Library == "" || cfg.TokenLabel == "" || cfg.PINEnv == "" {
		return nil, errors.New("pkcs11: library, token_label and pin_env are required")
	}
	pin := os.Getenv(cfg.PINEnv)
	if pin == "" {
		return nil, fmt.Errorf("pkcs11: the environment variable %s (pin_env) holding the token's PIN is not set: %w", cfg.PINEnv, device.ErrUnavailable)
	}
	if cfg.Sessions <= 0 {
		cfg.Sessions = DefaultSessions
	}
	mod, err := loadModule(cfg.Library)
	if err != nil {
		return nil, err
	}
	d := &Device{cfg: cfg, mod: mod, soft: device.NewSoftware(),
		capacity: make(chan struct{}, cfg.Sessions), idle: make(chan pkcs11.SessionHandle, cfg.Sessions),
		wrapKeys: map[string]pkcs11.ObjectHandle{}, labels: map[string][]byte{}}
	if err := d.open(pin); err != nil {
		mod.release()
		return nil, err
	}
	return d, nil
}

// open finds the token and logs in.
func (d *Device) open(pin string) error {
	slot, err := findToken(d.mod.ctx, d.cfg.TokenLabel)
	if err != nil {
		return fmt.Errorf("pkcs11: %s: %w", d.cfg.Library, err)
	}
	d.slot = slot
	if d.login, err = d.mod.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION); err != nil {
		return d.fail("opening a session", err)
	}
	err = d.mod.ctx.Login(d.login, pkcs11.CKU_USER, pin)
	if err != nil && !isCode(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		d.mod.ctx.CloseSession(d.login)
		if isCode(err, pkcs11.CKR_PIN_INCORRECT) || isCode(err, pkcs11.CKR_PIN_LEN_RANGE) {
			return fmt.Errorf("pkcs11: token %q refused the PIN in %s: %w", d.cfg.TokenLabel, d.cfg.PINEnv, device.ErrUnavailable)
		}
		return d.fail("logging in", err)
	}
	return nil
}

// findToken returns the slot of the token labelled label.
func findToken(ctx *pkcs11.Ctx, label string) (uint, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("listing slots: %v: %w", err, device.ErrUnavailable)
	}
	var seen []string
	for _, s := range slots {
		info, err := ctx.GetTokenInfo(s)
		if err != nil {
			continue
		}
		l := strings.TrimRight(info.Label, " \x00")
		if l == label {
			return s, nil
		}
		seen = append(seen, fmt.Sprintf("%q", l))
	}
	present := "no token is present"
	if len(seen) > 0 {
		present = "present: " + strings.Join(seen, ", ")
	}
	return 0, fmt.Errorf("no token labelled %q (%s): %w", label, present, device.ErrUnavailable)
}

// Close closes the device's sessions and, with the last device of its
// module, finalises the module.
func (d *Device) Close() error {
	for {
		select {
		case sh := <-d.idle:
			d.mod.ctx.CloseSession(sh)
		default:
			err := d.mod.ctx.CloseSession(d.login)
			d.mod.release()
			if err != nil {
				return fmt.Errorf("pkcs11: closing the login session: %w", err)
			}
			return nil
		}
	}
}

// withSession runs fn on a session of the token. It waits for a free
// session until ctx ends (then device.ErrBusy) and drops a session the
// token no longer knows.
func (d *Device) withSession(ctx context.Context, fn func(pkcs11.SessionHandle) error) error {
	select {
	case d.capacity <- struct{}{}:
	default:
		select {
		case d.capacity <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("pkcs11: all %d sessions of token %q are in use: %w", d.cfg.Sessions, d.cfg.TokenLabel, device.ErrBusy)
		}
	}
	defer func() { <-d.capacity }()
	var sh pkcs11.SessionHandle
	select {
	case sh = <-d.idle:
	default:
		var err error
		if sh, err = d.mod.ctx.OpenSession(d.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION); err != nil {
			return d.fail("opening a session", err)
		}
	}
	err := fn(sh)
	if lostSession(err) {
		d.mod.ctx.CloseSession(sh)
		return err
	}
	d.idle <- sh
	return err
}

// module is a loaded PKCS#11 library, shared by the devices of a process:
// a module is initialised once per process.
type module struct {
	path string
	ctx  *pkcs11.Ctx
	refs int
}

var (
	modulesMu sync.Mutex
	modules   = map[string]*module{}
)

// loadModule loads and initialises the library at path, or takes another
// reference on it.
func loadModule(path string) (*module, error) {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if m := modules[path]; m != nil {
		m.refs++
		return m, nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("pkcs11: the module %s (library) cannot be read: %w: %w", path, err, device.ErrUnavailable)
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("pkcs11: %s is not a PKCS#11 module: %w", path, device.ErrUnavailable)
	}
	if err := ctx.Initialize(); err != nil && !isCode(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		ctx.Destroy()
		return nil, fmt.Errorf("pkcs11: initialising %s: %v: %w", path, err, device.ErrUnavailable)
	}
	m := &module{path: path, ctx: ctx, refs: 1}
	modules[path] = m
	return m, nil
}

// release drops a reference and finalises the module with the last one.
func (m *module) release() {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if m.refs--; m.refs > 0 {
		return
	}
	delete(modules, m.path)
	m.ctx.Finalize()
	m.ctx.Destroy()
}

// isCode reports whether err is the PKCS#11 return value code.
func isCode(err error, code uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == code
}

// lostSession reports whether err means the session is gone.
func lostSession(err error) bool {
	for _, c := range []uint{pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED,
		pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_DEVICE_ERROR} {
		if isCode(err, c) {
			return true
		}
	}
	return false
}

// fail wraps a token error with what the device was doing and the
// device error a caller acts on. Token errors carry no key material.
func (d *Device) fail(doing string, err error) error {
	var kind error
	switch {
	case err == nil:
		return nil
	case isCode(err, pkcs11.CKR_SESSION_COUNT), isCode(err, pkcs11.CKR_DEVICE_MEMORY), isCode(err, pkcs11.CKR_HOST_MEMORY):
		kind = device.ErrBusy
	case isCode(err, pkcs11.CKR_OBJECT_HANDLE_INVALID), isCode(err, pkcs11.CKR_KEY_HANDLE_INVALID):
		kind = device.ErrKeyNotFound
	case lostSession(err), isCode(err, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED), isCode(err, pkcs11.CKR_USER_NOT_LOGGED_IN):
		kind = device.ErrUnavailable
	default:
		return fmt.Errorf("pkcs11: token %q: %s: %w", d.cfg.TokenLabel, doing, err)
	}
	return fmt.Errorf("pkcs11: token %q: %s: %v: %w", d.cfg.TokenLabel, doing, err, kind)
}
