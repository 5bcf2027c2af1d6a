// Package seal protects mima's root key. The root key is derived from a
// secret that is split into Shamir shares (threshold t of n) over the
// scalar field of the ristretto255 group, using Cloudflare's CIRCL
// secretsharing package. Feldman commitments to the sharing polynomial are
// kept in the public Config so that every share is checked the moment it is
// entered: a mistyped share, a share of another cluster and a share that does
// not belong to this sharing are each refused with their own error code.
//
// Optionally (auto-unseal) the root key is also stored wrapped by a Wrapper
// so that a node can unseal itself at start: under a key-encryption key
// (KEK) read from a file, which is weaker than key shares (whoever reads
// the KEK file and the data directory holds the root key), or under a key
// that never leaves a PKCS#11 token (seal: pkcs11).
package seal

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/secretsharing"
	"github.com/emmansun/gmsm/kdf"
	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// MaxShares is the largest number of shares Generate accepts.
const MaxShares = 255

// ClusterIDSize is the length of a cluster identifier in bytes.
const ClusterIDSize = 8

var grp = group.Ristretto255

// Config is the public description of how a cluster's root key is shared.
// It holds no secret and is stored in clear.
type Config struct {
	ClusterID   []byte   `json:"cluster_id"`
	Shares      int      `json:"shares"`
	Threshold   int      `json:"threshold"`
	Commitments [][]byte `json:"commitments"`
	// WrappedRootKey is the root key sealed by the auto-unseal Wrapper
	// configured at init, if any: the unattended KEK or, when Wrapper is
	// "pkcs11", a token key.
	WrappedRootKey []byte `json:"wrapped_root_key,omitempty"`
	// Wrapper is the Kind of the Wrapper of WrappedRootKey; "" is "kek".
	Wrapper string `json:"wrapper,omitempty"`
}

// Generate creates a fresh cluster secret, splits it into n shares of which
// t reconstruct it, and returns the 16-byte root key derived from it, the
// encoded shares and the public Config.
func Generate(rand io.Reader, n, t int) (rootKey []byte, shares []string, cfg Config, err error) {
	if n < 1 || n > MaxShares {
		return nil, nil, Config{}, fault.New(fault.InvalidArgument, "shares must be between 1 and %d", MaxShares)
	}
	if t < 1 || t > n {
		return nil, nil, Config{}, fault.New(fault.InvalidArgument, "threshold must be between 1 and the number of shares")
	}
	clusterID := make([]byte, ClusterIDSize)
	if _, err := io.ReadFull(rand, clusterID); err != nil {
		return nil, nil, Config{}, fmt.Errorf("seal: reading randomness: %w", err)
	}
	secret := grp.RandomNonZeroScalar(rand)
	ss := secretsharing.New(rand, uint(t-1), secret)
	cfg = Config{ClusterID: clusterID, Shares: n, Threshold: t}
	for _, c := range ss.CommitSecret() {
		b, err := c.MarshalBinaryCompress()
		if err != nil {
			return nil, nil, Config{}, fmt.Errorf("seal: encoding commitment: %w", err)
		}
		cfg.Commitments = append(cfg.Commitments, b)
	}
	for i, s := range ss.Share(uint(n)) {
		v, err := s.Value.MarshalBinary()
		if err != nil {
			return nil, nil, Config{}, fmt.Errorf("seal: encoding share: %w", err)
		}
		shares = append(shares, encodeShare(share{cluster: clusterID, id: byte(i + 1), value: v}))
	}
	rootKey, err = deriveRootKey(clusterID, secret)
	if err != nil {
		return nil, nil, Config{}, err
	}
	return rootKey, shares, cfg, nil
}

// deriveRootKey turns the shared secret into the SM4 root key with the SM3
// KDF of GB/T 32918.4, bound to the cluster identifier.
func deriveRootKey(clusterID []byte, secret group.Scalar) ([]byte, error) {
	b, err := secret.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("seal: encoding secret: %w", err)
	}
	z := append([]byte("mima root key v1\x00"), clusterID...)
	z = append(z, b...)
	return kdf.Kdf(sm3.New, z, sm4gcm.KeySize), nil
}

// Unsealer collects shares one at a time until the threshold is reached.
// It is not safe for concurrent use; callers hold their own lock.
type Unsealer struct {
	cfg         Config
	commitments secretsharing.SecretCommitment
	shares      []secretsharing.Share
}

// NewUnsealer returns an Unsealer for the cluster described by cfg.
func NewUnsealer(cfg Config) (*Unsealer, error) {
	u := &Unsealer{cfg: cfg}
	for _, b := range cfg.Commitments {
		e := grp.NewElement()
		if err := e.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("seal: stored commitment is corrupt: %w", err)
		}
		u.commitments = append(u.commitments, e)
	}
	if len(u.commitments) != cfg.Threshold || cfg.Threshold < 1 {
		return nil, fmt.Errorf("seal: stored seal config is inconsistent (threshold %d, %d commitments)", cfg.Threshold, len(u.commitments))
	}
	return u, nil
}

// Progress returns the number of accepted shares so far.
func (u *Unsealer) Progress() int { return len(u.shares) }

// Reset forgets every share entered so far.
func (u *Unsealer) Reset() { u.shares = nil }

// Add checks one encoded share. It returns the root key once the threshold
// is reached (and then forgets the shares), nil before that. A rejected
// share leaves the progress unchanged.
func (u *Unsealer) Add(encoded string) ([]byte, error) {
	s, err := decodeShare(encoded)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(s.cluster, u.cfg.ClusterID) != 1 {
		return nil, fault.New(fault.ForeignShare, "share belongs to another mima cluster")
	}
	if int(s.id) > u.cfg.Shares {
		return nil, fault.New(fault.WrongShare, "share does not belong to this cluster's key shares")
	}
	id := grp.NewScalar().SetUint64(uint64(s.id))
	for _, have := range u.shares {
		if have.ID.IsEqual(id) {
			return nil, fault.New(fault.DuplicateShare, "share %d was already entered", s.id)
		}
	}
	value := grp.NewScalar()
	if err := value.UnmarshalBinary(s.value); err != nil {
		return nil, fault.New(fault.WrongShare, "share does not belong to this cluster's key shares")
	}
	candidate := secretsharing.Share{ID: id, Value: value}
	if !secretsharing.Verify(uint(u.cfg.Threshold-1), candidate, u.commitments) {
		return nil, fault.New(fault.WrongShare, "share does not belong to this cluster's key shares")
	}
	u.shares = append(u.shares, candidate)
	if len(u.shares) < u.cfg.Threshold {
		return nil, nil
	}
	secret, err := secretsharing.Recover(uint(u.cfg.Threshold-1), u.shares)
	u.shares = nil
	if err != nil {
		return nil, fmt.Errorf("seal: recovering secret: %w", err)
	}
	return deriveRootKey(u.cfg.ClusterID, secret)
}

// share is the decoded form of one key share.
type share struct {
	cluster []byte
	id      byte
	value   []byte
}

var b64 = base64.RawURLEncoding.Strict()

const (
	sharePrefix    = "mima-share-1:"
	shareValueSize = 32
	shareCheckSize = 4
	shareSize      = ClusterIDSize + 1 + shareValueSize + shareCheckSize
)

// encodeShare writes cluster id || share id || value || check, where check
// is the first four bytes of SM3 over the rest, as prefixed base64url.
func encodeShare(s share) string {
	b := make([]byte, 0, shareSize)
	b = append(b, s.cluster...)
	b = append(b, s.id)
	b = append(b, s.value...)
	sum := sm3.Sum(b)
	b = append(b, sum[:shareCheckSize]...)
	return sharePrefix + b64.EncodeToString(b)
}

// decodeShare parses and checksums a share written by encodeShare.
func decodeShare(encoded string) (share, error) {
	if len(encoded) <= len(sharePrefix) || encoded[:len(sharePrefix)] != sharePrefix {
		return share{}, fault.New(fault.InvalidShare, "share is malformed: it must start with %q", sharePrefix)
	}
	b, err := b64.DecodeString(encoded[len(sharePrefix):])
	if err != nil || len(b) != shareSize {
		return share{}, fault.New(fault.InvalidShare, "share is malformed: check for a typing error")
	}
	body, check := b[:shareSize-shareCheckSize], b[shareSize-shareCheckSize:]
	sum := sm3.Sum(body)
	if subtle.ConstantTimeCompare(sum[:shareCheckSize], check) != 1 {
		return share{}, fault.New(fault.InvalidShare, "share checksum does not match: check for a typing error")
	}
	if body[ClusterIDSize] == 0 {
		return share{}, fault.New(fault.InvalidShare, "share is malformed: zero share number")
	}
	return share{
		cluster: body[:ClusterIDSize],
		id:      body[ClusterIDSize],
		value:   body[ClusterIDSize+1:],
	}, nil
}
