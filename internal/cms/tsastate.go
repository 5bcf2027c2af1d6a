package cms

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// tsaState is a TSA ready to issue tokens: its record, certificate and
// the parts of every token that do not change. It is immutable.
type tsaState struct {
	rec    TSA
	cert   *smx509.Certificate
	policy []byte // DER OBJECT IDENTIFIER
	acc    accuracy
	step   time.Duration // genTime resolution
	// essAttr is the signing-certificate-v2 attribute, tsaName the
	// TSTInfo's tsa field: [0] GeneralName directoryName.
	essAttr []byte
	tsaName asn1.RawValue
}

// loadTSA returns a TSA of the tenant, cached; an absent one is
// tsa_not_found.
func (s *Service) loadTSA(ctx context.Context, tenant, name string) (*tsaState, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	if err := checkName("TSA", name); err != nil {
		return nil, fault.New(fault.TSANotFound, "TSA %q not found", name)
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	k := paths.TSA{Tenant: tenant, Name: name}
	if a, ok := s.tsas.Get(k); ok {
		return a, nil
	}
	gen := s.tsas.Generation()
	rec, err := readTSA(ctx, st, tenant, name)
	if err != nil {
		return nil, err
	}
	c, err := s.ca.GetCertificate(ctx, tenant, rec.Certificate)
	if err != nil {
		return nil, err
	}
	a, err := newTSAState(rec, c.DER)
	if err != nil {
		return nil, fault.Unexpected(err)
	}
	s.tsas.Add(k, a, gen)
	return a, nil
}

// newTSAState prepares a TSA record with its certificate.
func newTSAState(rec TSA, certDER []byte) (*tsaState, error) {
	cert, err := smx509.ParseCertificate(certDER)
	if err != nil {
		return nil, err
	}
	a := &tsaState{rec: rec, cert: cert, step: resolution(rec.Accuracy)}
	if a.policy, err = encodeOID(rec.Policy); err != nil {
		return nil, err
	}
	d := rec.Accuracy
	a.acc = accuracy{
		Seconds: int(d / time.Second),
		Millis:  int(d % time.Second / time.Millisecond),
		Micros:  int(d % time.Millisecond / time.Microsecond),
	}
	issuer := directoryName(cert.RawIssuer)
	h, _ := hashNamed(rec.CertIDHash)
	id := essCertID{CertHash: h.sum(cert.Raw), IssuerSerial: issuerSerial{Issuer: []asn1.RawValue{issuer}, Serial: cert.SerialNumber}}
	if h.name != "sha256" { // SHA-256 is the DEFAULT, which DER leaves out
		id.HashAlgorithm = pkix.AlgorithmIdentifier{Algorithm: h.oid}
	}
	if a.essAttr, err = newAttribute(oidSigningCertV2, signingCertificate{Certs: []essCertID{id}}); err != nil {
		return nil, err
	}
	name, err := asn1.Marshal(directoryName(cert.RawSubject))
	if err != nil {
		return nil, err
	}
	a.tsaName = asn1.RawValue{FullBytes: appendTLV(nil, []byte{0xa0}, name)}
	return a, nil
}

// resolution returns the largest power of ten, from 1µs to 1s, that is
// at most d.
func resolution(d time.Duration) time.Duration {
	step := time.Second
	for step > time.Microsecond && step > d {
		step /= 10
	}
	return step
}

// directoryName returns the GeneralName directoryName ([4] EXPLICIT
// Name) of a DER Name.
func directoryName(name []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: name}
}

// pemCertificate returns a PEM block "CERTIFICATE".
func pemCertificate(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
