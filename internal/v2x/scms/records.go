package scms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// getJSON reads a JSON record; found is false when there is none.
func getJSON(ctx context.Context, st storage.Backend, key string, v any) (found bool, err error) {
	b, err := st.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fault.Storage(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fault.Unexpected(err)
	}
	return true, nil
}

// putOp is the storage op writing v as JSON at key.
func putOp(key string, v any) (storage.Op, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return storage.Op{}, fault.Unexpected(err)
	}
	return storage.Op{Key: key, Value: b}, nil
}

// period is the i-period of t: whole periods since the 1609.2 epoch.
func (d *deployment) period(t time.Time) uint16 { return periodOf(t, d.Period) }

// periodOf is the number of whole periods of length since the 1609.2
// epoch at t.
func periodOf(t time.Time, length time.Duration) uint16 {
	p := ieee1609.Time32Of(t) / ieee1609.Time32(length/time.Second)
	return uint16(min(p, 65535))
}

// periodStart is when i-period i begins.
func (d *deployment) periodStart(i uint16) ieee1609.Time32 {
	return ieee1609.Time32(i) * ieee1609.Time32(d.Period/time.Second)
}

// expiryPeriod is the i-period in which a validity period ends: i for a
// pseudonym certificate of period i.
func (d *deployment) expiryPeriod(v ieee1609.ValidityPeriod) uint16 {
	return d.period(v.End().Add(-time.Second))
}

// bucket is a period as a path segment; buckets sort by period, so that
// what expires together is listed and deleted together.
func bucket(i uint16) string { return fmt.Sprintf("%05d", i) }

// periodValidity is the validity period of i-period i.
func (d *deployment) periodValidity(i uint16) ieee1609.ValidityPeriod {
	h := uint16(d.Period / time.Hour)
	return ieee1609.ValidityPeriod{Start: d.periodStart(i), Duration: ieee1609.Hours(h)}
}

// decodeData decodes an SPDU, refusing what is not COER.
func decodeData(b []byte) (*ieee1609.Data, error) {
	var d ieee1609.Data
	if err := coer.Unmarshal(b, &d); err != nil {
		return nil, refused("not an IEEE 1609.2 SPDU: %v", err)
	}
	if d.ProtocolVersion != 3 {
		return nil, refused("protocol version %d, expected 3", d.ProtocolVersion)
	}
	return &d, nil
}

// signPdu signs an SCMS PDU as an authority (SecurityMgmtPsid, with the
// generation time and the authority's certificate).
func (s *Service) signPdu(ctx context.Context, tenant, keyName string, cert *ieee1609.Certificate, pdu *ieee1609.ScmsPdu) (*ieee1609.Data, error) {
	b, err := coer.Marshal(pdu)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return s.signAs(ctx, tenant, keyName, cert, sec.Unsecured(b))
}

// signAs signs payload as an authority.
func (s *Service) signAs(ctx context.Context, tenant, keyName string, cert *ieee1609.Certificate, payload *ieee1609.Data) (*ieee1609.Data, error) {
	key, err := s.keys.Signer(ctx, tenant, keyName)
	if err != nil {
		return nil, err
	}
	gen := ieee1609.Time64Of(s.now())
	d, err := s.profile.SignData(s.rand, key, cert, payload, ieee1609.HeaderInfo{Psid: s.profile.SecurityMgmtPsid, GenerationTime: &gen}, false)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return d, nil
}

// decrypt opens an SPDU encrypted to an authority's certificate.
func (s *Service) decrypt(ctx context.Context, tenant, keyName string, cert *ieee1609.Certificate, d *ieee1609.Data) ([]byte, error) {
	if d.Content.EncryptedData == nil {
		return nil, refused("the request must be encrypted to the authority")
	}
	id, err := sec.HashedID8(cert)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	key, err := s.keys.Decrypter(ctx, tenant, keyName)
	if err != nil {
		return nil, err
	}
	pt, err := s.profile.Decrypt(d.Content.EncryptedData, id, key)
	if err != nil {
		return nil, refused("cannot decrypt the request: %v", err)
	}
	return pt, nil
}

// pdu is an SCMS PDU of version 2.
func pdu(c ieee1609.ScmsContent) *ieee1609.ScmsPdu { return &ieee1609.ScmsPdu{Version: 2, Content: c} }

// encode is COER of v.
func encode(v any) ([]byte, error) {
	b, err := coer.Marshal(v)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	return b, nil
}

// open loads a deployment and the store.
func (s *Service) open(ctx context.Context, dep string) (*deployment, storage.Backend, error) {
	d, err := s.load(ctx, dep)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.store.Backend()
	return d, st, err
}

// batch writes ops atomically.
func batch(ctx context.Context, st storage.Backend, ops []storage.Op) error {
	if err := st.Batch(ctx, ops); err != nil {
		return fault.Storage(err)
	}
	return nil
}
