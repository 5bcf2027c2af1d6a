package pki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// crlRecord is a CA's current CRL, at t/<tenant>/pki/crls/<ca>:
//
//	{"number": 7, "this_update": RFC 3339, "next_update": RFC 3339,
//	 "due": RFC 3339 (when RunJobs replaces it), "der": base64 DER}
type crlRecord struct {
	Number     int64     `json:"number"`
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
	Due        time.Time `json:"due"`
	DER        []byte    `json:"der"`
}

// CRL returns the current CRL of an active CA, DER: a full X.509 v2 CRL
// signed with SM2/SM3, with a cRLNumber that grows by one with every CRL
// and an authority key identifier. It lists every revoked and held
// certificate of the CA, expired ones included, with its reason (none for
// unspecified). A new CRL is made on every revocation, hold and release,
// and by RunJobs once half of the CRL validity has passed.
func (s *Service) CRL(ctx context.Context, tenant, ca string) ([]byte, error) {
	a, err := s.loadCA(ctx, tenant, ca)
	if err != nil {
		return nil, err
	}
	if a.rec.State != Active {
		return nil, fault.New(fault.CAPending, "CA %q has no certificate yet", ca)
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	r, err := readCRL(ctx, st, tenant, ca)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("pki: active CA %s/%s has no CRL", tenant, ca)
	}
	return r.DER, nil
}

// readCRL reads a CA's current CRL record, or nil.
func readCRL(ctx context.Context, st storage.Backend, tenant, ca string) (*crlRecord, error) {
	b, err := st.Get(ctx, crlPath(tenant, ca))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fault.Storage(err)
	}
	var r crlRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("pki: CRL record %s/%s is corrupt: %w", tenant, ca, err)
	}
	return &r, nil
}

// makeCRL signs a new CRL of a for the revocations in storage changed by
// pending (ops on revokedPath entries about to be written with it) and
// returns the ops that store it and move its schedule entry. st should be
// the transaction that stores them: the CRL record it reads is then the
// condition that no other CRL of the CA was stored meanwhile.
func (s *Service) makeCRL(ctx context.Context, st storage.Backend, a *authority, now time.Time, pending ...storage.Op) ([]storage.Op, error) {
	tenant, ca := a.tenant, a.rec.Name
	prev, err := readCRL(ctx, st, tenant, ca)
	if err != nil {
		return nil, err
	}
	prefix := revokedPrefix(tenant, ca)
	paths, err := st.List(ctx, prefix, "", 0)
	if err != nil {
		return nil, fault.Storage(err)
	}
	set := make(map[string]bool, len(paths)+len(pending))
	for _, p := range paths {
		set[p] = true
	}
	for _, op := range pending {
		set[op.Key] = !op.Delete
	}
	var entries []smx509.RevocationListEntry
	for p, in := range set {
		if !in {
			continue
		}
		e, err := parseRevoked(strings.TrimPrefix(p, prefix))
		if err != nil {
			return nil, fmt.Errorf("pki: CRL entry %s: %w", p, err)
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(x, y smx509.RevocationListEntry) int { return x.SerialNumber.Cmp(y.SerialNumber) })
	r := &crlRecord{Number: 1, ThisUpdate: now, NextUpdate: now.Add(a.rec.Config.CRLValidity)}
	if prev != nil {
		r.Number = prev.Number + 1
	}
	r.Due = now.Add(a.rec.Config.CRLValidity / 2)
	signer, err := s.keys.Signer(ctx, tenant, a.rec.Key)
	if err != nil {
		return nil, err
	}
	r.DER, err = smx509.CreateRevocationList(s.rand, &smx509.RevocationList{
		SignatureAlgorithm: smx509.SM2WithSM3, Number: big.NewInt(r.Number),
		ThisUpdate: r.ThisUpdate, NextUpdate: r.NextUpdate, RevokedCertificateEntries: entries,
	}, a.cert, signer)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("pki: encoding CRL record: %w", err)
	}
	ops := []storage.Op{{Key: crlPath(tenant, ca), Value: b}}
	if prev != nil {
		ops = append(ops, storage.Op{Key: dueCRLPath(prev.Due, tenant, ca), Delete: true})
	}
	return append(ops, storage.Op{Key: dueCRLPath(r.Due, tenant, ca), Value: []byte{}}), nil
}

// parseRevoked reads a CRL entry from the tail of a revokedPath:
// <serial>/<unix>/<reason>.
func parseRevoked(tail string) (smx509.RevocationListEntry, error) {
	parts := strings.Split(tail, "/")
	if len(parts) != 3 {
		return smx509.RevocationListEntry{}, errors.New("malformed path")
	}
	serial, ok := new(big.Int).SetString(parts[0], 16)
	at, err := strconv.ParseInt(parts[1], 10, 64)
	code, known := Reason(parts[2]).code()
	if !ok || err != nil || !known {
		return smx509.RevocationListEntry{}, errors.New("malformed path")
	}
	return smx509.RevocationListEntry{SerialNumber: serial, RevocationTime: time.Unix(at, 0).UTC(), ReasonCode: code}, nil
}
