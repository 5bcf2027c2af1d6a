package sealstate

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/seal"
	"github.com/mimacrypto/mima/internal/storage"
)

// generateRoot is one attempt to create a root token from a quorum of key
// shares, as Vault's generate-root: the operator who starts it gives a
// one-time pad, custodians enter their shares quoting the attempt's nonce,
// and the last one receives the new token XORed with the pad, which only
// the starter can undo.
type generateRoot struct {
	nonce    string
	otp      []byte
	ttl      time.Duration
	unsealer *seal.Unsealer
}

// GenerateRootStatus is the state of the generate-root attempt.
type GenerateRootStatus struct {
	Started  bool
	Nonce    string
	Progress int
	Required int
	// Complete is set, with EncodedToken, by the share that completes the
	// attempt; the attempt is then over.
	Complete     bool
	EncodedToken []byte
	OTPLength    int
	// Accessor names the new root token, for the audit record.
	Accessor string
}

// GenerateRootStatus reports the attempt in progress, if any.
func (c *Machine) GenerateRootStatus(ctx context.Context) (GenerateRootStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.readyForRoot(ctx); err != nil {
		return GenerateRootStatus{}, err
	}
	return c.rootStatusLocked(), nil
}

func (c *Machine) rootStatusLocked() GenerateRootStatus {
	st := GenerateRootStatus{Required: c.cfg.Threshold, OTPLength: authn.TokenLength}
	if g := c.genRoot; g != nil {
		st.Started, st.Nonce, st.Progress = true, g.nonce, g.unsealer.Progress()
	}
	return st
}

// readyForRoot refuses unless the cluster is initialised and unsealed.
func (c *Machine) readyForRoot(ctx context.Context) error {
	if err := c.loadConfig(ctx); err != nil {
		return err
	}
	if c.cfg == nil {
		return fault.New(fault.NotInitialized, "mima is not initialised")
	}
	if c.barrier.Sealed() {
		return storage.ErrSealed
	}
	return nil
}

// StartGenerateRoot begins an attempt with the one-time pad otp, which must
// be authn.TokenLength random bytes. The new root token will expire after
// ttl (zero: never). Only one attempt runs at a time; CancelGenerateRoot
// ends it.
func (c *Machine) StartGenerateRoot(ctx context.Context, otp []byte, ttl time.Duration) (GenerateRootStatus, error) {
	if len(otp) != authn.TokenLength {
		return GenerateRootStatus{}, fault.New(fault.InvalidArgument, "otp must be %d bytes (base64)", authn.TokenLength)
	}
	if err := authn.CheckRootTTL(ttl); err != nil {
		return GenerateRootStatus{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.readyForRoot(ctx); err != nil {
		return GenerateRootStatus{}, err
	}
	if c.genRoot != nil {
		return GenerateRootStatus{}, fault.New(fault.AlreadyExists, "a generate-root attempt is in progress; cancel it first")
	}
	u, err := seal.NewUnsealer(*c.cfg)
	if err != nil {
		return GenerateRootStatus{}, err
	}
	nonce := make([]byte, 16)
	if _, err := io.ReadFull(c.rand, nonce); err != nil {
		return GenerateRootStatus{}, fmt.Errorf("sealstate: reading randomness: %w", err)
	}
	c.genRoot = &generateRoot{nonce: hex.EncodeToString(nonce), otp: append([]byte(nil), otp...), ttl: ttl, unsealer: u}
	return c.rootStatusLocked(), nil
}

// UpdateGenerateRoot enters one key share into the attempt named by nonce.
// Shares are checked against the Feldman commitments as in unsealing; a
// rejected share leaves the progress unchanged. With the last share the
// root key is rebuilt, checked against the keyring and wiped at once, and
// a new root token is issued and returned XORed with the pad.
func (c *Machine) UpdateGenerateRoot(ctx context.Context, nonce, share string) (GenerateRootStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.readyForRoot(ctx); err != nil {
		return GenerateRootStatus{}, err
	}
	g := c.genRoot
	if g == nil {
		return GenerateRootStatus{}, fault.New(fault.NotFound, "no generate-root attempt is in progress")
	}
	if subtle.ConstantTimeCompare([]byte(nonce), []byte(g.nonce)) != 1 {
		return GenerateRootStatus{}, fault.New(fault.InvalidArgument, "nonce does not name the generate-root attempt in progress")
	}
	rootKey, err := g.unsealer.Add(share)
	if err != nil || rootKey == nil {
		return c.rootStatusLocked(), err
	}
	// The attempt ends here, whatever the outcome.
	c.genRoot = nil
	defer clear(g.otp)
	err = c.barrier.VerifyRootKey(ctx, rootKey)
	clear(rootKey)
	if err != nil {
		return GenerateRootStatus{}, err
	}
	issued, err := c.auth.IssueRoot(ctx, g.ttl)
	if err != nil {
		return GenerateRootStatus{}, err
	}
	enc := []byte(issued.Token)
	subtle.XORBytes(enc, enc, g.otp)
	return GenerateRootStatus{
		Nonce: g.nonce, Progress: c.cfg.Threshold, Required: c.cfg.Threshold, OTPLength: authn.TokenLength,
		Complete: true, EncodedToken: enc, Accessor: issued.Info.Accessor,
	}, nil
}

// CancelGenerateRoot ends the attempt in progress, forgetting its shares.
func (c *Machine) CancelGenerateRoot() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.genRoot = nil
}
