package scms

import (
	"context"
	"encoding/binary"
	"encoding/hex"
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
// encrypted linkage chain identifier (eLCI) under its own SM4 key with a
// fresh nonce, so that neither the RA nor the PCA can tell two values of
// one chain apart. It never learns the device or the certificates.

// chain is an LA's record of a linkage chain.
type chain struct {
	Seed   linkage.Seed `json:"seed"`  // ls(IStart)
	IStart uint16       `json:"start"` // the period the chain began
	IEnd   uint16       `json:"end"`   // the last period it serves
}

// An eLCI's plaintext is chain id (16) || the chain's last period (2).
const lciLen = 16 + 2

// laOf returns the tenant and id of LA 1 or 2.
func (d *deployment) laOf(which int) (string, linkage.LaID) {
	if which == 1 {
		return d.Tenants.LA1, d.LA1ID
	}
	return d.Tenants.LA2, d.LA2ID
}

// chainPath is where an LA keeps a chain, by the period it ends.
func (d *deployment) chainPath(tenant string, end uint16, id []byte) string {
	return d.path(tenant, "la", "chains/"+bucket(end)+"/"+hex.EncodeToString(id))
}

// plvBatch is an LA's answer for one request: per period, per j, the
// encrypted PLV; the chain's eLCI; and the op that stores the chain,
// written with the request so that a refused request leaves no chain
// behind.
type plvBatch struct {
	plv   [][]ieee1609.EncryptedIndividualPLV
	elci  string
	chain storage.Op
}

// preLinkage starts a chain at LA which for periods i0..i0+n-1 and j <
// jMax, at period now.
func (s *Service) preLinkage(ctx context.Context, d *deployment, which int, now, i0 uint16, n, jMax int) (*plvBatch, error) {
	tenant, laID := d.laOf(which)
	var id [16]byte
	c := chain{IStart: now, IEnd: i0 + uint16(n) - 1}
	if _, err := io.ReadFull(s.rand, id[:]); err != nil {
		return nil, internalErr(err)
	}
	if _, err := io.ReadFull(s.rand, c.Seed[:]); err != nil {
		return nil, internalErr(err)
	}
	pcaID, err := sec.HashedID8(d.pca)
	if err != nil {
		return nil, internalErr(err)
	}
	pcaKey, err := sec.EncryptingKey(*d.pca.ToBeSigned.EncryptionKey)
	if err != nil {
		return nil, internalErr(err)
	}
	suite := s.profile.Linkage
	out := &plvBatch{}
	for k := range n {
		i := i0 + uint16(k)
		seed := suite.SeedAt(laID, c.Seed, uint32(i-now))
		var plvs []ieee1609.EncryptedIndividualPLV
		for j := range jMax {
			plv := suite.PreLinkageValue(laID, seed, uint32(j))
			ed, err := s.profile.Encrypt(s.rand, plv[:], sec.Recipient{Key: pcaKey, ID: pcaID, Kind: sec.CertRecipient})
			if err != nil {
				return nil, internalErr(err)
			}
			plvs = append(plvs, ieee1609.EncryptedIndividualPLV{Version: 2, LaID: ieee1609.LaID(laID),
				EncPlv: ieee1609.Data{ProtocolVersion: 3, Content: ieee1609.Content{EncryptedData: ed}}})
		}
		out.plv = append(out.plv, plvs)
	}
	pt := binary.BigEndian.AppendUint16(id[:], c.IEnd)
	if out.elci, err = s.keys.Encrypt(ctx, tenant, keyName(d.Name, "la", "lci"), kms.EncryptRequest{Plaintext: pt, AAD: []byte(d.Name)}); err != nil {
		return nil, err
	}
	if out.chain, err = putOp(d.chainPath(tenant, c.IEnd, id[:]), c); err != nil {
		return nil, err
	}
	return out, nil
}

// linkageSeed opens an eLCI at LA which and returns the chain's seed at
// period iRev, or at its first period when it began later, with that
// period and its last period.
func (s *Service) linkageSeed(ctx context.Context, d *deployment, which int, elci string, iRev uint16) (seed linkage.Seed, at, end uint16, err error) {
	tenant, laID := d.laOf(which)
	pt, err := s.keys.Decrypt(ctx, tenant, keyName(d.Name, "la", "lci"), kms.DecryptRequest{Ciphertext: elci, AAD: []byte(d.Name)})
	if err != nil {
		return seed, 0, 0, err
	}
	if len(pt) != lciLen {
		return seed, 0, 0, internalErr(fault.New(fault.Internal, "eLCI of %d bytes", len(pt)))
	}
	st, err := s.backend()
	if err != nil {
		return seed, 0, 0, err
	}
	var c chain
	found, err := getJSON(ctx, st, d.chainPath(tenant, binary.BigEndian.Uint16(pt[16:]), pt[:16]), &c)
	if err != nil {
		return seed, 0, 0, err
	}
	if !found {
		return seed, 0, 0, fault.New(fault.NotFound, "LA%d has no such linkage chain", which)
	}
	at = max(iRev, c.IStart)
	return s.profile.Linkage.SeedAt(laID, c.Seed, uint32(at-c.IStart)), at, c.IEnd, nil
}
