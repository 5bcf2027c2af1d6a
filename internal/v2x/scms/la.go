package scms

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/linkage"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// The linkage authorities (IEEE 1609.2 5.1.3.4, 1609.2.1 9.4). For each
// pseudonym request an LA starts a linkage chain: a random seed for the
// current i-period, hashed forward to later ones. It answers the RA with
// the pre-linkage value of every (i, j), encrypted to the PCA, and an
// encrypted linkage chain identifier (eLCI) under its own SM4 key, which
// only it can open when the MA asks for the chain's seed. It never learns
// the device or the certificates.
//
// An LA lives in a tenant of the deployment's cluster, or at another mima
// cluster (RemoteLA, served there by a standalone LA, see CreateLA), so
// that no one operator need hold both LAs and the PCA.

// LinkageAuthority is an LA as the RA and the MA use it.
type LinkageAuthority interface {
	// PreLinkage starts a linkage chain and returns its encrypted
	// pre-linkage values and eLCI.
	PreLinkage(ctx context.Context, r PLVRequest) (*PLVResponse, error)
	// LinkageSeed opens an eLCI and returns its chain's seed.
	LinkageSeed(ctx context.Context, r SeedRequest) (*SeedResponse, error)
}

// PLVRequest asks for the pre-linkage values of periods First to
// First+Periods-1, j < JMax, for a request made in period Now.
type PLVRequest struct {
	Now, First    uint16
	Periods, JMax int
}

// PLVResponse is, per period and j, a pre-linkage value encrypted to the
// PCA, and the chain's eLCI.
type PLVResponse struct {
	PLV  [][]ieee1609.EncryptedIndividualPLV
	ELCI string
}

// SeedRequest asks for the seed at period IRev of the chain an eLCI
// names.
type SeedRequest struct {
	ELCI string
	IRev uint16
}

// SeedResponse is a chain's seed at period At (IRev, or the chain's first
// period if it began later) and the chain's last period.
type SeedResponse struct {
	Seed    linkage.Seed
	At, End uint16
}

// chain is an LA's record of a linkage chain.
type chain struct {
	Seed   linkage.Seed `json:"seed"`  // ls(IStart)
	IStart uint16       `json:"start"` // the period the chain began
	IEnd   uint16       `json:"end"`   // the last period it serves
}

// An eLCI's plaintext is chain id (16) || the chain's last period (2).
const lciLen = 16 + 2

// tenantLA is an LA whose SM4 key and chains are in a tenant of this
// cluster.
type tenantLA struct {
	s      *Service
	tenant string
	id     linkage.LaID
	key    string                // the key service name of its eLCI key
	aad    []byte                // binds its eLCIs to it
	chains string                // the storage prefix of its chains
	pca    *ieee1609.Certificate // to which it encrypts PLVs
}

// la is LA 1 or 2 of a deployment.
func (d *deployment) la(which int) LinkageAuthority { return d.las[which-1] }

// localLA is LA 1 or 2 of a deployment, in its tenant here.
func (s *Service) localLA(d *deployment, which int) *tenantLA {
	tenant, id := d.Tenants.LA1, d.LA1ID
	if which == 2 {
		tenant, id = d.Tenants.LA2, d.LA2ID
	}
	return &tenantLA{s: s, tenant: tenant, id: id, key: keyName(d.Name, "la", "lci"), aad: []byte(d.Name),
		chains: d.path(tenant, "la", "chains/"), pca: d.pca}
}

// chainPath is where the LA keeps a chain, by the period it ends.
func (la *tenantLA) chainPath(end uint16, id []byte) string {
	return la.chains + bucket(end) + "/" + hex.EncodeToString(id)
}

// PreLinkage starts and stores a chain.
func (la *tenantLA) PreLinkage(ctx context.Context, r PLVRequest) (*PLVResponse, error) {
	s := la.s
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	var id [16]byte
	c := chain{IStart: r.Now, IEnd: r.First + uint16(r.Periods) - 1}
	if _, err := io.ReadFull(s.rand, id[:]); err != nil {
		return nil, fault.Unexpected(err)
	}
	if _, err := io.ReadFull(s.rand, c.Seed[:]); err != nil {
		return nil, fault.Unexpected(err)
	}
	pcaID, err := sec.HashedID8(la.pca)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	pcaKey, err := sec.EncryptingKey(*la.pca.ToBeSigned.EncryptionKey)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	suite := s.profile.Linkage
	out := &PLVResponse{}
	for k := range r.Periods {
		i := r.First + uint16(k)
		seed := suite.SeedAt(la.id, c.Seed, uint32(i-r.Now))
		plvs := make([]ieee1609.EncryptedIndividualPLV, r.JMax)
		for j := range plvs {
			plv := suite.PreLinkageValue(la.id, seed, uint32(j))
			ed, err := s.profile.Encrypt(s.rand, plv[:], sec.Recipient{Key: pcaKey, ID: pcaID, Kind: sec.CertRecipient})
			if err != nil {
				return nil, fault.Unexpected(err)
			}
			plvs[j] = ieee1609.EncryptedIndividualPLV{Version: 2, LaID: ieee1609.LaID(la.id),
				EncPlv: ieee1609.Data{ProtocolVersion: 3, Content: ieee1609.Content{EncryptedData: ed}}}
		}
		out.PLV = append(out.PLV, plvs)
	}
	pt := binary.BigEndian.AppendUint16(id[:], c.IEnd)
	if out.ELCI, err = s.keys.Encrypt(ctx, la.tenant, la.key, kms.EncryptRequest{Plaintext: pt, AAD: la.aad}); err != nil {
		return nil, err
	}
	op, err := putOp(la.chainPath(c.IEnd, id[:]), c)
	if err != nil {
		return nil, err
	}
	return out, batch(ctx, st, []storage.Op{op})
}

// LinkageSeed opens an eLCI and hashes the chain's seed forward to IRev.
func (la *tenantLA) LinkageSeed(ctx context.Context, r SeedRequest) (*SeedResponse, error) {
	pt, err := la.s.keys.Decrypt(ctx, la.tenant, la.key, kms.DecryptRequest{Ciphertext: r.ELCI, AAD: la.aad})
	if err != nil {
		return nil, err
	}
	if len(pt) != lciLen {
		return nil, fault.New(fault.InvalidArgument, "eLCI of %d bytes", len(pt))
	}
	st, err := la.s.store.Backend()
	if err != nil {
		return nil, err
	}
	var c chain
	found, err := getJSON(ctx, st, la.chainPath(binary.BigEndian.Uint16(pt[16:]), pt[:16]), &c)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fault.New(fault.NotFound, "LA %x has no such linkage chain", la.id[:])
	}
	at := max(r.IRev, c.IStart)
	return &SeedResponse{Seed: la.s.profile.Linkage.SeedAt(la.id, c.Seed, uint32(at-c.IStart)), At: at, End: c.IEnd}, nil
}

// preLinkage asks LA which of a deployment for pre-linkage values and
// checks that the answer has the shape asked for, and the LA's id.
func (d *deployment) preLinkage(ctx context.Context, which int, r PLVRequest) (*PLVResponse, error) {
	resp, err := d.la(which).PreLinkage(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("LA%d: %w", which, err)
	}
	want := ieee1609.LaID(d.LA1ID)
	if which == 2 {
		want = ieee1609.LaID(d.LA2ID)
	}
	ok := len(resp.PLV) == r.Periods && resp.ELCI != ""
	for _, row := range resp.PLV {
		ok = ok && len(row) == r.JMax
		for _, p := range row {
			ok = ok && p.LaID == want && p.EncPlv.Content.EncryptedData != nil
		}
	}
	if !ok {
		return nil, fault.Unexpected(fmt.Errorf("LA%d answered pre-linkage values of another shape or LA", which))
	}
	return resp, nil
}
