package sm9

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/pem"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
)

// ReservedPrefix starts the identities mima uses itself (the signer of
// revocation lists); the KGC extracts no key for them on request.
const ReservedPrefix = "mima:"

// Tags of a hosted identity key.
const (
	TagKGC = "sm9.kgc"
	TagID  = "sm9.id"
)

// Delivery says how an extracted user key leaves the KGC: exactly one of
// Hosted, SM2PublicKey and Password.
type Delivery struct {
	// Hosted keeps the key in mima, as the key HostedName names.
	Hosted bool
	// SM2PublicKey is a PEM "PUBLIC KEY" (SM2) that the key is
	// SM2-encrypted to (GM/T 0009 ASN.1 ciphertext of the device's backup
	// form of the user key).
	SM2PublicKey string
	// Password seals the key in the format of a key backup
	// (PBKDF2-HMAC-SM3 and SM4-GCM).
	Password []byte
}

// ExtractRequest asks for the user key of one identity.
type ExtractRequest struct {
	ID string
	// HID is the function identifier; 0 means the KGC type's default
	// (device.SM9SignHID, device.SM9EncHID).
	HID     byte
	Deliver Delivery
}

// Extracted is a delivered user key: one of Key (the hosted key's name),
// Envelope and Sealed is set.
type Extracted struct {
	ID            string
	Key           string
	Envelope      []byte
	Sealed        []byte
	MasterVersion int
}

// HostedName is the name of the hosted key of identity id with function
// identifier hid under KGC kgc: "sm9-" and 40 hex digits of
// SM3(kgc || 0x00 || hid || id).
func HostedName(kgc, id string, hid byte) string {
	h := sm3.New()
	h.Write([]byte(kgc))
	h.Write([]byte{0, hid})
	h.Write([]byte(id))
	return "sm9-" + hex.EncodeToString(h.Sum(nil))[:40]
}

// userType is the user key type a master of type t extracts, and its
// default hid.
func userType(t device.KeyType) (device.KeyType, byte) {
	if t == device.SM9SignMaster {
		return device.SM9SignUser, device.SM9SignHID
	}
	return device.SM9EncUser, device.SM9EncHID
}

// Extract extracts and delivers the user key of one identity.
func (s *Service) Extract(ctx context.Context, tenant, kgc string, req ExtractRequest) (Extracted, error) {
	m, v, err := s.keys.SM9Master(ctx, tenant, kgc)
	if err != nil {
		return Extracted{}, err
	}
	rev, err := s.revoked(ctx, tenant, kgc)
	if err != nil {
		return Extracted{}, err
	}
	return s.extract(ctx, tenant, kgc, m, v, rev, req)
}

// ExtractBatch is Extract for up to MaxBatch identities, computed in
// parallel; an item's error fails only that item.
func (s *Service) ExtractBatch(ctx context.Context, tenant, kgc string, reqs []ExtractRequest) ([]kms.Result[Extracted], error) {
	run, err := s.ExtractStream(ctx, tenant, kgc, reqs)
	if err != nil {
		return nil, err
	}
	out := make([]kms.Result[Extracted], 0, len(reqs))
	_ = run(func(r kms.Result[Extracted]) error { out = append(out, r); return nil })
	return out, nil
}

// ExtractStream is ExtractBatch for a caller that streams the answer of a
// large batch instead of holding it: it refuses the whole batch now or
// returns run, which extracts and hands each item's result to emit, in
// order, as soon as it is ready; emit's error stops the batch.
func (s *Service) ExtractStream(ctx context.Context, tenant, kgc string, reqs []ExtractRequest) (run func(emit func(kms.Result[Extracted]) error) error, err error) {
	if err := CheckBatch(len(reqs)); err != nil {
		return nil, err
	}
	m, v, err := s.keys.SM9Master(ctx, tenant, kgc)
	if err != nil {
		return nil, err
	}
	rev, err := s.revoked(ctx, tenant, kgc)
	if err != nil {
		return nil, err
	}
	return func(emit func(kms.Result[Extracted]) error) error {
		return parallelEach(reqs, func(q ExtractRequest) (Extracted, error) { return s.extract(ctx, tenant, kgc, m, v, rev, q) }, emit)
	}, nil
}

func (s *Service) extract(ctx context.Context, tenant, kgc string, m device.SM9Master, v int, rev revocations, req ExtractRequest) (Extracted, error) {
	if err := s.checkIdentity(req.ID); err != nil {
		return Extracted{}, err
	}
	if strings.HasPrefix(req.ID, ReservedPrefix) {
		return Extracted{}, fault.Invalid("identities starting with %q are reserved", ReservedPrefix)
	}
	if err := rev.check(req.ID); err != nil {
		return Extracted{}, err
	}
	d := req.Deliver
	n := 0
	for _, set := range []bool{d.Hosted, d.SM2PublicKey != "", d.Password != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return Extracted{}, fault.Invalid("deliver takes exactly one of hosted, sm2_public_key and password")
	}
	var pub *ecdsa.PublicKey
	if d.SM2PublicKey != "" {
		var err error
		if pub, err = parseSM2PublicKey(d.SM2PublicKey); err != nil {
			return Extracted{}, err
		}
	}
	t, hid := userType(m.Type())
	if req.HID != 0 {
		hid = req.HID
	}
	stored, err := m.Extract(ctx, []byte(req.ID), hid)
	if err != nil {
		return Extracted{}, fault.Wrap(err, fault.Internal, "the key device failed to extract the user key")
	}
	defer clear(stored)
	out := Extracted{ID: req.ID, MasterVersion: v}
	switch {
	case d.Hosted:
		out.Key = HostedName(kgc, req.ID, hid)
		_, err = s.keys.Hold(ctx, tenant, kms.CreateRequest{
			Name: out.Key, Type: t, Description: "SM9 identity key",
			Tags: map[string]string{TagKGC: kgc, TagID: req.ID},
		}, stored)
	case pub != nil:
		out.Envelope, err = s.keys.WrapExtracted(ctx, t, stored, pub)
	default:
		out.Sealed, err = s.keys.SealExtracted(ctx, t, stored, d.Password)
	}
	if err != nil {
		return Extracted{}, err
	}
	return out, nil
}

// parseSM2PublicKey reads a PEM "PUBLIC KEY" holding an SM2 key.
func parseSM2PublicKey(p string) (*ecdsa.PublicKey, error) {
	bad := fault.Invalid("sm2_public_key must be a PEM PUBLIC KEY holding an SM2 public key")
	b, _ := pem.Decode([]byte(p))
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, bad
	}
	k, err := smx509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, bad
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve.Params().Name != "sm2p256v1" {
		return nil, bad
	}
	return pub, nil
}

// CheckBatch refuses a batch of more than MaxBatch items.
func CheckBatch(n int) error {
	if n > MaxBatch {
		return fault.New(fault.BatchTooLarge, "an SM9 batch holds at most %d items, not %d", MaxBatch, n)
	}
	return nil
}

// parallel applies fn to every item on GOMAXPROCS workers and returns the
// results in order.
func parallel[Q, R any](items []Q, fn func(Q) (R, error)) []kms.Result[R] {
	out := make([]kms.Result[R], 0, len(items))
	_ = parallelEach(items, fn, func(r kms.Result[R]) error { out = append(out, r); return nil })
	return out
}

// parallelEach applies fn to every item on GOMAXPROCS workers and hands
// the results to emit in order, each as soon as it and those before it are
// done. When emit fails, the items not yet started are skipped and its
// error returned.
func parallelEach[Q, R any](items []Q, fn func(Q) (R, error), emit func(kms.Result[R]) error) error {
	out := make([]kms.Result[R], len(items))
	done := make([]chan struct{}, len(items))
	for i := range done {
		done[i] = make(chan struct{})
	}
	var stop atomic.Bool
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(items)) {
		wg.Go(func() {
			for i := range next {
				if !stop.Load() {
					out[i].Value, out[i].Err = fn(items[i])
				}
				close(done[i])
			}
		})
	}
	go func() {
		for i := range items {
			next <- i
		}
		close(next)
	}()
	var err error
	for i := range items {
		<-done[i]
		if err == nil {
			if err = emit(out[i]); err != nil {
				stop.Store(true)
			}
		}
		out[i] = kms.Result[R]{}
	}
	wg.Wait()
	return err
}
