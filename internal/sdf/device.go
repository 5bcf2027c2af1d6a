package sdf

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"os"
	"sync"

	"github.com/emmansun/gmsm/smx509"
	"github.com/mimacrypto/mima/sdk"
)

// randReader is the entropy of local operations on caller-supplied keys
// (external signatures and encryptions, generated key pairs).
var randReader = rand.Reader

var (
	devices  Handles[*Device]
	sessions Handles[*Session]
)

// maxRandom is the most the server gives in one random call.
const maxRandom = 1 << 20

// Device is an open device: the configuration and a client of its server.
type Device struct {
	cfg    Config
	client *sdk.Client
}

// OpenDevice reads the configuration from the environment, checks that
// the server answers unsealed and returns the device's handle.
func OpenDevice(ctx context.Context) (uintptr, error) {
	cfg, err := LoadConfig(os.Getenv)
	if err != nil {
		return 0, &Error{Code: OpenDeviceErr, Err: err}
	}
	c, err := cfg.Client(cfg.Token)
	if err != nil {
		return 0, &Error{Code: OpenDeviceErr, Err: err}
	}
	h, err := c.Sys().Health(ctx)
	if err != nil {
		return 0, &Error{Code: OpenDeviceErr, Err: err}
	}
	if h.Sealed || !h.Initialized {
		return 0, fail(OpenDeviceErr, "the server is sealed")
	}
	return devices.Put(&Device{cfg: cfg, client: c}), nil
}

// CloseDevice closes the device of handle h and every session on it.
func CloseDevice(h uintptr) error {
	d, ok := devices.Take(h)
	if !ok {
		return fail(InArgErr, "no device of handle %#x", h)
	}
	var open []uintptr
	sessions.Each(func(h uintptr, s *Session) {
		if s.dev == d {
			open = append(open, h)
		}
	})
	for _, s := range open {
		_ = CloseSession(s)
	}
	d.client.CloseIdleConnections()
	return nil
}

// Session is a session on a device: its session keys, access rights and
// hash in progress. Its methods are safe for concurrent use.
type Session struct {
	dev  *Device
	keys Handles[*SM4Key]

	mu     sync.Mutex
	rights map[uint32]*sdk.Client // by key index
	hash   hash.Hash              // nil: no hash in progress
}

// OpenSession opens a session on the device of handle dev.
func OpenSession(dev uintptr) (uintptr, error) {
	d, ok := devices.Get(dev)
	if !ok {
		return 0, fail(InArgErr, "no device of handle %#x", dev)
	}
	return sessions.Put(&Session{dev: d, rights: map[uint32]*sdk.Client{}}), nil
}

// CloseSession closes a session, wipes its session keys and closes the
// connections of its access rights.
func CloseSession(h uintptr) error {
	s, ok := sessions.Take(h)
	if !ok {
		return fail(InArgErr, "no session of handle %#x", h)
	}
	s.keys.Each(func(_ uintptr, k *SM4Key) { k.Wipe() })
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.rights {
		c.CloseIdleConnections()
	}
	return nil
}

// SessionOf returns the session of handle h.
func SessionOf(h uintptr) (*Session, error) {
	s, ok := sessions.Get(h)
	if !ok {
		return nil, fail(InArgErr, "no session of handle %#x", h)
	}
	return s, nil
}

// key returns the mima key of index i and the client that uses it: the
// session's access right for i, or the configured token.
func (s *Session) key(i uint32) (string, *sdk.Client, error) {
	name, ok := s.dev.cfg.keyName(i)
	if !ok {
		return "", nil, fail(KeyNotExist, "no key at index %d", i)
	}
	s.mu.Lock()
	c := s.rights[i]
	s.mu.Unlock()
	if c == nil {
		c = s.dev.client
	}
	return name, c, nil
}

// Random fills b from the server's DRBG.
func (s *Session) Random(ctx context.Context, b []byte) error {
	return Random(ctx, s.dev.client, b)
}

// Random fills b from the DRBG of c's server, in calls of at most
// maxRandom bytes.
func Random(ctx context.Context, c *sdk.Client, b []byte) error {
	for len(b) > 0 {
		n := min(len(b), maxRandom)
		r, err := c.Crypto().Random(ctx, n)
		if err != nil {
			return err
		}
		if len(r) != n {
			return fail(RandErr, "the server gave %d random bytes, not %d", len(r), n)
		}
		b = b[copy(b, r):]
	}
	return nil
}

// GetAccessRight makes the session use password, a mima token (one a
// certificate login gives, for instance), for the key of index i.
func (s *Session) GetAccessRight(ctx context.Context, i uint32, password []byte) error {
	if _, ok := s.dev.cfg.keyName(i); !ok {
		return fail(KeyNotExist, "no key at index %d", i)
	}
	c, err := s.dev.cfg.Client(string(password))
	if err != nil {
		return &Error{Code: PardenyErr, Err: err}
	}
	if _, err := c.Auth().LookupSelf(ctx); err != nil {
		if CodeOf(err) == CommFail {
			return err
		}
		return &Error{Code: PardenyErr, Err: err}
	}
	s.mu.Lock()
	old := s.rights[i]
	s.rights[i] = c
	s.mu.Unlock()
	if old != nil {
		old.CloseIdleConnections()
	}
	return nil
}

// ReleaseAccessRight goes back to the configured token for index i.
func (s *Session) ReleaseAccessRight(i uint32) error {
	if _, ok := s.dev.cfg.keyName(i); !ok {
		return fail(KeyNotExist, "no key at index %d", i)
	}
	s.mu.Lock()
	c := s.rights[i]
	delete(s.rights, i)
	s.mu.Unlock()
	if c != nil {
		c.CloseIdleConnections()
	}
	return nil
}

// PublicKey is the latest public key of the sm2 key of index i.
func (s *Session) PublicKey(ctx context.Context, i uint32) (*ecdsa.PublicKey, error) {
	name, c, err := s.key(i)
	if err != nil {
		return nil, err
	}
	return PublicKeyOf(ctx, c, name)
}

// PublicKeyOf is the latest public key of c's sm2 key name.
func PublicKeyOf(ctx context.Context, c *sdk.Client, name string) (*ecdsa.PublicKey, error) {
	text, err := c.Keys().PublicKeyPEM(ctx, name, 0)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, fail(KeyTypeErr, "key %s has no public key", name)
	}
	pub, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, &Error{Code: KeyTypeErr, Err: err}
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fail(KeyTypeErr, "key %s is not an SM2 key", name)
	}
	return ec, nil
}

// Sign signs the 32-byte digest e = SM3(Z || M) with the key of index i.
func (s *Session) Sign(ctx context.Context, i uint32, digest []byte) (Signature, error) {
	if len(digest) != coordLen {
		return Signature{}, fail(InArgErr, "the data to sign is a 32-byte SM3 digest, not %d bytes", len(digest))
	}
	name, c, err := s.key(i)
	if err != nil {
		return Signature{}, err
	}
	r, err := c.Crypto().Sign(ctx, name, sdk.SignRequest{Input: digest, Prehashed: true})
	if err != nil {
		return Signature{}, err
	}
	return SignatureFromDER(r.Signature)
}

// Verify checks sig over the 32-byte digest with the key of index i.
func (s *Session) Verify(ctx context.Context, i uint32, digest []byte, sig Signature) error {
	if len(digest) != coordLen {
		return fail(InArgErr, "the signed data is a 32-byte SM3 digest, not %d bytes", len(digest))
	}
	name, c, err := s.key(i)
	if err != nil {
		return err
	}
	r, err := c.Crypto().Verify(ctx, name, sdk.VerifyRequest{Input: digest, Signature: sig.DER(), Prehashed: true})
	if err != nil {
		return err
	}
	if !r.Valid {
		return fail(VerifyErr, "signature does not verify")
	}
	return nil
}

// Encrypt encrypts data to the key of index i.
func (s *Session) Encrypt(ctx context.Context, i uint32, data []byte) (Cipher, error) {
	name, c, err := s.key(i)
	if err != nil {
		return Cipher{}, err
	}
	r, err := c.Crypto().Encrypt(ctx, name, sdk.EncryptRequest{Plaintext: data, SM2Format: "c1c3c2"})
	if err != nil {
		return Cipher{}, err
	}
	return cipherFromMima(r.Ciphertext)
}

// Decrypt decrypts ct with the key of index i. ECCCipher names no key
// version: the versions the key still decrypts with are tried from the
// latest (a wrong version fails SM2's hash check).
func (s *Session) Decrypt(ctx context.Context, i uint32, ct Cipher) ([]byte, error) {
	name, c, err := s.key(i)
	if err != nil {
		return nil, err
	}
	k, err := c.Keys().Get(ctx, name)
	if err != nil {
		return nil, err
	}
	payload := base64.StdEncoding.EncodeToString(ct.c1c3c2())
	for v := k.LatestVersion; v >= max(k.MinDecryptionVersion, 1); v-- {
		r, err := c.Crypto().Decrypt(ctx, name, sdk.DecryptRequest{Ciphertext: fmt.Sprintf("mima:v%d:%s", v, payload)})
		if err == nil {
			return r.Plaintext, nil
		}
		if !errors.Is(err, sdk.ErrDecryptFailed) {
			return nil, err
		}
	}
	return nil, fail(EncDataErr, "no version of key %d decrypts the data", i)
}

// DeviceInfo is what SDF_GetDeviceInfo reports.
type DeviceInfo struct {
	Issuer, Name, Serial           string
	DeviceVersion, StandardVersion uint32
	AsymAlgAbility                 [2]uint32
	SymAlgAbility, HashAlgAbility  uint32
	BufferSize                     uint32
}

// Info describes the library's device: SM2 (signature and encryption,
// 256 bits), SM4 and SM3.
func Info() DeviceInfo {
	return DeviceInfo{
		Issuer: "mima", Name: "mima SDF", Serial: "mima-sdf-1",
		DeviceVersion: 1, StandardVersion: 1,
		AsymAlgAbility: [2]uint32{AlgSM2_1 | AlgSM2_3, 256},
		SymAlgAbility:  AlgSM4ECB | AlgSM4CBC | AlgSM4MAC | AlgSM4CTR,
		HashAlgAbility: AlgSM3,
		BufferSize:     maxRandom,
	}
}
