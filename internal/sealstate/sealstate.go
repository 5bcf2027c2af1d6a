// Package sealstate owns mima's seal state: initialisation, unsealing with key
// shares or by auto-unseal (an unattended KEK or a PKCS#11 token key),
// sealing and keyring rotation. It hands the
// encrypting barrier to the components that keep state behind it and tells
// them when mima unseals and seals.
package sealstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/barrier"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/seal"
	"github.com/mimacrypto/mima/internal/storage"
)

// sealConfigPath holds the public seal.Config in clear; its presence means
// the cluster is initialised.
const sealConfigPath = "sys/seal-config"

// Component keeps state behind the barrier. Unsealed is called after every
// unseal with the barrier as its store; Sealed before every seal.
type Component interface {
	Unsealed(ctx context.Context, store storage.Backend) error
	Sealed()
}

// Initializer is implemented by components that create state once, when
// the cluster is initialised (the barrier is unsealed during the call).
type Initializer interface {
	Initialize(ctx context.Context, store storage.Backend) error
}

// Machine is the seal state machine of one mima node.
type Machine struct {
	raw        storage.Backend
	barrier    *barrier.Barrier
	auth       *authn.Service
	components []Component
	rand       io.Reader
	wrapper    seal.Wrapper // auto-unseal, nil without

	mu       sync.Mutex
	cfg      *seal.Config // nil until initialised
	unsealer *seal.Unsealer
	genRoot  *generateRoot // the generate-root attempt in progress
}

// Option configures a Machine.
type Option func(*Machine)

// WithRand sets the randomness source for key generation.
func WithRand(r io.Reader) Option { return func(c *Machine) { c.rand = r } }

// WithKEK enables unattended unsealing: at init the root key is also stored
// wrapped under kek, and AutoUnseal unwraps it.
func WithKEK(kek []byte) Option {
	return func(c *Machine) { c.wrapper = seal.KEK(kek, c.rand) }
}

// WithWrapper enables auto-unseal with w (seal: pkcs11): at init the root
// key is also stored wrapped by w, and AutoUnseal unwraps it.
func WithWrapper(w seal.Wrapper) Option { return func(c *Machine) { c.wrapper = w } }

// WithComponents registers components in the order they are unsealed (and
// sealed in reverse).
func WithComponents(cs ...Component) Option {
	return func(c *Machine) { c.components = append(c.components, cs...) }
}

// New returns a sealed Machine over the raw backend. auth keeps its records
// behind the barrier: it is the first component, unsealed before the
// others and sealed after them.
func New(raw storage.Backend, b *barrier.Barrier, auth *authn.Service, opts ...Option) *Machine {
	c := &Machine{raw: raw, barrier: b, auth: auth, rand: rand.Reader, components: []Component{auth}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Status is the seal state reported by the health and unseal endpoints.
type Status struct {
	Initialized bool
	Sealed      bool
	Threshold   int
	Shares      int
	Progress    int
	ClusterID   string
	Unattended  bool
}

// Status returns the current seal state. It reads storage only until the
// cluster is known to be initialised.
func (c *Machine) Status(ctx context.Context) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.loadConfig(ctx); err != nil {
		return Status{}, err
	}
	return c.statusLocked(), nil
}

func (c *Machine) statusLocked() Status {
	st := Status{Sealed: c.barrier.Sealed()}
	if c.cfg == nil {
		return st
	}
	st.Initialized = true
	st.Threshold = c.cfg.Threshold
	st.Shares = c.cfg.Shares
	st.ClusterID = hex.EncodeToString(c.cfg.ClusterID)
	st.Unattended = len(c.cfg.WrappedRootKey) > 0
	if c.unsealer != nil {
		st.Progress = c.unsealer.Progress()
	}
	return st
}

// Sealed reports whether the barrier is sealed, without touching storage.
func (c *Machine) Sealed() bool { return c.barrier.Sealed() }

// loadConfig reads the seal config once it exists.
func (c *Machine) loadConfig(ctx context.Context) error {
	if c.cfg != nil {
		return nil
	}
	b, err := c.raw.Get(ctx, sealConfigPath)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fault.Wrap(err, fault.StorageFailure, "reading the seal configuration failed")
	}
	var cfg seal.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("sealstate: seal configuration is corrupt: %w", err)
	}
	u, err := seal.NewUnsealer(cfg)
	if err != nil {
		return err
	}
	c.cfg, c.unsealer = &cfg, u
	return nil
}

// InitResult is what initialisation hands to the operator, once.
type InitResult struct {
	Shares    []string
	RootToken string
}

// InitOption adjusts an initialisation.
type InitOption func(*initOptions)

type initOptions struct{ rootTTL time.Duration }

// RootTokenTTL makes the initial root token expire after ttl (zero: never).
func RootTokenTTL(ttl time.Duration) InitOption {
	return func(o *initOptions) { o.rootTTL = ttl }
}

// Init initialises a new cluster: it creates the root key and its shares,
// the keyring, every component's initial state and the root token. The
// seal config is written last, so an init interrupted by a crash can be
// run again. Without auto-unseal the node is left sealed.
func (c *Machine) Init(ctx context.Context, shares, threshold int, opts ...InitOption) (InitResult, error) {
	var o initOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := authn.CheckRootTTL(o.rootTTL); err != nil {
		return InitResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.raw.(storage.Locker); ok {
		// Nodes sharing a store initialise one at a time: the second sees
		// the first's seal config and refuses.
		lock, err := l.Lock(ctx, "mima-init")
		if err != nil {
			return InitResult{}, err
		}
		defer lock.Release()
	}
	if err := c.loadConfig(ctx); err != nil {
		return InitResult{}, err
	}
	if c.cfg != nil {
		return InitResult{}, fault.New(fault.AlreadyInit, "mima is already initialised")
	}
	rootKey, encoded, cfg, err := seal.Generate(c.rand, shares, threshold)
	if err != nil {
		return InitResult{}, err
	}
	defer clear(rootKey)
	if c.wrapper != nil {
		if err := seal.WrapRoot(ctx, c.wrapper, &cfg, rootKey); err != nil {
			return InitResult{}, err
		}
	}
	if err := c.barrier.Initialize(ctx, rootKey); err != nil {
		return InitResult{}, err
	}
	root, err := c.initState(ctx, o.rootTTL)
	if err != nil {
		c.barrier.Seal()
		return InitResult{}, err
	}
	cb, err := json.Marshal(cfg)
	if err != nil {
		c.barrier.Seal()
		return InitResult{}, err
	}
	if err := c.raw.Put(ctx, sealConfigPath, cb); err != nil {
		c.barrier.Seal()
		return InitResult{}, fault.Wrap(err, fault.StorageFailure, "storing the seal configuration failed")
	}
	u, err := seal.NewUnsealer(cfg)
	if err != nil {
		return InitResult{}, err
	}
	c.cfg, c.unsealer = &cfg, u
	if c.wrapper != nil {
		if err := c.afterUnseal(ctx); err != nil {
			return InitResult{}, err
		}
	} else {
		c.sealLocked()
	}
	return InitResult{Shares: encoded, RootToken: root}, nil
}

// initState creates the root token and each component's initial state.
func (c *Machine) initState(ctx context.Context, rootTTL time.Duration) (string, error) {
	for _, comp := range c.components {
		if in, ok := comp.(Initializer); ok {
			if err := in.Initialize(ctx, c.barrier); err != nil {
				return "", err
			}
		}
	}
	// authn serves for the bootstrap only; the node unseals fully later.
	if err := c.auth.Unsealed(ctx, c.barrier); err != nil {
		return "", err
	}
	defer c.auth.Sealed()
	root, err := c.auth.Bootstrap(ctx, rootTTL)
	if err != nil {
		return "", err
	}
	return root.Token, nil
}

// Unseal enters one key share. When the threshold is reached the barrier is
// unsealed. A rejected share leaves the progress as it was; shares that
// reconstruct a key which does not open the keyring reset the progress.
func (c *Machine) Unseal(ctx context.Context, share string) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.loadConfig(ctx); err != nil {
		return Status{}, err
	}
	if c.cfg == nil {
		return Status{}, fault.New(fault.NotInitialized, "mima is not initialised")
	}
	if !c.barrier.Sealed() {
		return c.statusLocked(), nil
	}
	rootKey, err := c.unsealer.Add(share)
	if err != nil {
		return c.statusLocked(), err
	}
	if rootKey == nil {
		return c.statusLocked(), nil
	}
	defer clear(rootKey)
	if err := c.openBarrier(ctx, rootKey); err != nil {
		return c.statusLocked(), err
	}
	return c.statusLocked(), nil
}

// ResetUnseal forgets the shares entered so far.
func (c *Machine) ResetUnseal(ctx context.Context) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.loadConfig(ctx); err != nil {
		return Status{}, err
	}
	if c.unsealer != nil {
		c.unsealer.Reset()
	}
	return c.statusLocked(), nil
}

// AutoUnseal unseals with the auto-unseal wrapper given to New (WithKEK,
// WithWrapper). When the wrapper's key has rotated, it wraps the root key
// again under the new key once the root key has opened the keyring.
func (c *Machine) AutoUnseal(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wrapper == nil {
		return fault.New(fault.InvalidArgument, "no auto-unseal (unattended KEK or seal) is configured")
	}
	if err := c.loadConfig(ctx); err != nil {
		return err
	}
	if c.cfg == nil {
		return fault.New(fault.NotInitialized, "mima is not initialised")
	}
	if !c.barrier.Sealed() {
		return nil
	}
	rootKey, current, err := seal.UnwrapRoot(ctx, c.wrapper, *c.cfg)
	if err != nil {
		return fault.Wrap(err, fault.UnsealFailed, "auto-unseal (%s) does not unseal this cluster", c.wrapper.Kind())
	}
	defer clear(rootKey)
	if err := c.openBarrier(ctx, rootKey); err != nil {
		return err
	}
	if current {
		return nil
	}
	return c.rewrap(ctx, rootKey)
}

// rewrap wraps the root key under the wrapper's current key and stores
// the seal config; the old key may go once this has returned.
func (c *Machine) rewrap(ctx context.Context, rootKey []byte) error {
	cfg := *c.cfg
	if err := seal.WrapRoot(ctx, c.wrapper, &cfg, rootKey); err != nil {
		return fault.Wrap(err, fault.UnsealFailed, "wrapping the root key under the rotated seal key failed")
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := c.raw.Put(ctx, sealConfigPath, b); err != nil {
		return fault.Wrap(err, fault.StorageFailure, "storing the seal configuration failed")
	}
	c.cfg = &cfg
	return nil
}

func (c *Machine) openBarrier(ctx context.Context, rootKey []byte) error {
	if err := c.barrier.Unseal(ctx, rootKey); err != nil {
		return err
	}
	return c.afterUnseal(ctx)
}

// afterUnseal tells every component; if one fails the node seals again.
func (c *Machine) afterUnseal(ctx context.Context) error {
	for _, comp := range c.components {
		if err := comp.Unsealed(ctx, c.barrier); err != nil {
			c.sealLocked()
			return fault.Wrap(err, fault.UnsealFailed, "loading state after unseal failed")
		}
	}
	return nil
}

// Seal wipes the keys from memory. Requests are refused until the next
// unseal.
func (c *Machine) Seal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sealLocked()
}

func (c *Machine) sealLocked() {
	for i := len(c.components) - 1; i >= 0; i-- {
		c.components[i].Sealed()
	}
	c.barrier.Seal()
	c.genRoot = nil
	if c.unsealer != nil {
		c.unsealer.Reset()
	}
}

// Rotate adds a barrier keyring term.
func (c *Machine) Rotate(ctx context.Context) (barrier.Status, error) {
	return c.barrier.Rotate(ctx)
}

// KeyStatus reports the active barrier keyring term.
func (c *Machine) KeyStatus() (barrier.Status, error) { return c.barrier.Status() }
