package sm9

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// ListSigner is the identity whose key, extracted by a signature KGC for
// itself, signs its revocation lists: a device verifies a list with the
// master public key it already has.
const ListSigner = ReservedPrefix + "revocation-list"

// revocations is a KGC's stored list of revoked identities.
type revocations struct {
	Serial     uint64               `json:"serial"`
	Identities map[string]time.Time `json:"identities"` // identity -> revocation time
}

func (r revocations) has(id string) bool { _, ok := r.Identities[id]; return ok }

func (r revocations) check(id string) error {
	if r.has(id) {
		return fault.New(fault.IdentityRevoked, "identity %q is revoked", id)
	}
	return nil
}

func revokedPath(tenant, kgc string) string { return "t/" + tenant + "/sm9/" + kgc + "/revoked" }

// revoked reads the revocation list of kgc; none is an empty list.
func (s *Service) revoked(ctx context.Context, tenant, kgc string) (revocations, error) {
	st, err := s.store.Backend()
	if err != nil {
		return revocations{}, err
	}
	return readRevoked(ctx, st, tenant, kgc)
}

func readRevoked(ctx context.Context, st storage.Backend, tenant, kgc string) (revocations, error) {
	b, err := st.Get(ctx, revokedPath(tenant, kgc))
	if errors.Is(err, storage.ErrNotFound) {
		return revocations{}, nil
	}
	if err != nil {
		return revocations{}, fault.Wrap(err, fault.StorageFailure, "reading the SM9 revocation list failed")
	}
	var r revocations
	if err := json.Unmarshal(b, &r); err != nil {
		return revocations{}, fmt.Errorf("sm9: revocation list of %s/%s is corrupt: %w", tenant, kgc, err)
	}
	return r, nil
}

// Revoke adds identities to the revocation list of kgc, which must be an
// SM9 master key. Revoking a revoked identity changes nothing.
func (s *Service) Revoke(ctx context.Context, tenant, kgc string, ids []string) error {
	if len(ids) == 0 || len(ids) > MaxBatch {
		return fault.Invalid("revoke 1 to %d identities at a time", MaxBatch)
	}
	for _, id := range ids {
		if id == "" || len(id) > MaxIdentity {
			return fault.Invalid("an identity is 1 to %d bytes", MaxIdentity)
		}
	}
	if _, _, _, err := s.keys.SM9MasterPublic(ctx, tenant, kgc, 0); err != nil {
		return err
	}
	st, err := s.store.Backend()
	if err != nil {
		return err
	}
	now := s.now().UTC()
	return storage.Atomic(ctx, st, func(tx storage.Backend) error {
		r, err := readRevoked(ctx, tx, tenant, kgc)
		if err != nil {
			return err
		}
		if r.Identities == nil {
			r.Identities = map[string]time.Time{}
		}
		added := false
		for _, id := range ids {
			if !r.has(id) {
				r.Identities[id], added = now, true
			}
		}
		if !added {
			return nil
		}
		r.Serial++
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("sm9: encoding the revocation list: %w", err)
		}
		return tx.Put(ctx, revokedPath(tenant, kgc), b)
	})
}

// ListBody is the signed content of a revocation list.
type ListBody struct {
	Tenant        string    `json:"tenant"`
	KGC           string    `json:"kgc"`
	MasterVersion int       `json:"master_version"`
	Serial        uint64    `json:"serial"`
	IssuedAt      time.Time `json:"issued_at"`
	Revoked       []string  `json:"revoked"`
}

// List is a published revocation list: Body is the JSON of a ListBody,
// and Signature the DER SM9Signature of Body by the identity Signer
// (hid 0x01) under the KGC's master public key version MasterVersion.
// An encryption KGC cannot sign: its list has no Signature, and devices
// take it from mima over an authenticated channel.
type List struct {
	Body      []byte `json:"body"`
	Signer    string `json:"signer,omitempty"`
	Signature []byte `json:"signature,omitempty"`
}

// RevocationList returns the signed revocation list of kgc.
func (s *Service) RevocationList(ctx context.Context, tenant, kgc string) (List, error) {
	r, err := s.revoked(ctx, tenant, kgc)
	if err != nil {
		return List{}, err
	}
	_, t, v, err := s.keys.SM9MasterPublic(ctx, tenant, kgc, 0)
	if err != nil {
		return List{}, err
	}
	body := ListBody{Tenant: tenant, KGC: kgc, MasterVersion: v, Serial: r.Serial, IssuedAt: s.now().UTC(), Revoked: make([]string, 0, len(r.Identities))}
	for id := range r.Identities {
		body.Revoked = append(body.Revoked, id)
	}
	slices.Sort(body.Revoked)
	b, err := json.Marshal(body)
	if err != nil {
		return List{}, fmt.Errorf("sm9: encoding the revocation list: %w", err)
	}
	if t != device.SM9SignMaster {
		return List{Body: b}, nil
	}
	m, _, err := s.keys.SM9Master(ctx, tenant, kgc)
	if err != nil {
		return List{}, err
	}
	stored, err := m.Extract(ctx, []byte(ListSigner), device.SM9SignHID)
	if err != nil {
		return List{}, fault.Wrap(err, fault.Internal, "the key device failed to extract the list signer's key")
	}
	defer clear(stored)
	k, err := s.keys.OpenExtracted(ctx, device.SM9SignUser, stored)
	if err != nil {
		return List{}, err
	}
	sig, err := k.(device.SM9Signer).Sign(ctx, b)
	if err != nil {
		return List{}, fault.Wrap(err, fault.Internal, "the key device failed to sign the revocation list")
	}
	return List{Body: b, Signer: ListSigner, Signature: sig}, nil
}
