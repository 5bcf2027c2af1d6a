package cms

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/pki"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// Defaults of a timestamp authority.
const (
	// DefaultPolicy is the TSA policy of a TSA created without one: an
	// OID under 2.25 (ITU-T X.667, a UUID as the arc), which needs no
	// registration. mima owns no other arc; 1.2.156 is China's national
	// arc, not for products.
	DefaultPolicy = "2.25.320402723183599870612255361901717435460"
	// DefaultAccuracy is the accuracy of genTime of a TSA created without
	// one.
	DefaultAccuracy = time.Second
	// TSAProfile is the certificate profile CreateTSA uses, and creates on
	// the CA when it is missing: digitalSignature and contentCommitment,
	// extended key usage timeStamping only, any common name, up to 10
	// years. RFC 3161 section 2.3 wants that extension critical; pki
	// marks every extended key usage non-critical, so BouncyCastle's
	// TimeStampToken.validate and OpenSSL's "ts -verify" refuse the
	// certificate until pki can issue it critical. VerifyTimestamp
	// demands timeStamping alone, critical or not.
	TSAProfile = "tsa"
	// maxAccuracy bounds a TSA's accuracy.
	maxAccuracy = time.Hour
)

// TSARequest describes a new timestamp authority.
type TSARequest struct {
	Name string
	// CA is the CA of the tenant that certifies the TSA's key.
	CA string
	// Policy is the TSA policy OID, dotted decimal; "" is DefaultPolicy.
	// Requests naming another policy are refused (unacceptedPolicy).
	Policy string
	// Accuracy of genTime, from 1µs to 1 hour in whole microseconds; 0 is
	// DefaultAccuracy. genTime carries as many decimals as it calls for.
	Accuracy time.Duration
	// CertIDHash is the hash of the TSA certificate in the
	// signing-certificate-v2 attribute (ESSCertIDv2): "sm3" (the default)
	// or "sha256".
	CertIDHash string
	// Subject of the TSA certificate; an empty one is CN "<name> TSA".
	Subject pki.Name
	// TTL of the TSA certificate; 0 is the profile's default.
	TTL time.Duration
}

// TSA describes a timestamp authority. It is also the stored form, at
// t/<tenant>/cms/tsas/<name>, in JSON.
type TSA struct {
	Name string `json:"name"`
	CA   string `json:"ca"`
	// Key is the TSA's sm2 key in the key service, "tsa-<name>-<8 hex
	// digits>", not exportable.
	Key string `json:"key"`
	// Certificate is the serial number of the TSA's certificate.
	Certificate string        `json:"certificate"`
	Policy      string        `json:"policy"`
	Accuracy    time.Duration `json:"accuracy"`
	CertIDHash  string        `json:"cert_id_hash"`
	CreatedAt   time.Time     `json:"created_at"`
}

func (req *TSARequest) check() error {
	if err := checkName("TSA", req.Name); err != nil {
		return err
	}
	if req.Policy == "" {
		req.Policy = DefaultPolicy
	}
	if _, err := encodeOID(req.Policy); err != nil {
		return fault.Invalid("policy %q is not a dotted-decimal OBJECT IDENTIFIER", req.Policy)
	}
	if req.Accuracy == 0 {
		req.Accuracy = DefaultAccuracy
	}
	if req.Accuracy < time.Microsecond || req.Accuracy > maxAccuracy || req.Accuracy%time.Microsecond != 0 {
		return fault.Invalid("accuracy must be 1µs to %s in whole microseconds", maxAccuracy)
	}
	if req.CertIDHash == "" {
		req.CertIDHash = "sm3"
	}
	if req.CertIDHash != "sm3" && req.CertIDHash != "sha256" {
		return fault.Invalid(`cert_id_hash is "sm3" or "sha256"`)
	}
	if req.Subject.CommonName == "" && len(req.Subject.Organization) == 0 {
		req.Subject.CommonName = req.Name + " TSA"
	}
	return nil
}

// CreateTSA creates a timestamp authority: a new sm2 key in the key
// service, certified by req.CA under TSAProfile (created on the CA if it
// has none) with the extended key usage timeStamping only. A TSA profile
// that gives anything else fails the creation (profile_violation). A
// creation that fails schedules its key for deletion and revokes the
// certificate it was issued (cessationOfOperation), so that no valid
// certificate is left for a key no TSA uses.
func (s *Service) CreateTSA(ctx context.Context, tenant string, req TSARequest) (_ TSA, err error) {
	if err := checkTenant(tenant); err != nil {
		return TSA{}, err
	}
	if err := req.check(); err != nil {
		return TSA{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return TSA{}, err
	}
	// No lock across the key's creation and the certificate's signature:
	// the name is checked here, to fail early, and claimed by the final
	// write's condition that it is still free; a creator that loses the
	// race schedules its key for deletion and revokes its certificate, as
	// any failed creation does.
	if _, err := st.Get(ctx, paths.TSA{Tenant: tenant, Name: req.Name}.String()); err == nil {
		return TSA{}, fault.New(fault.AlreadyExists, "TSA %q already exists", req.Name)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return TSA{}, fault.Storage(err)
	}
	if err := s.tsaProfile(ctx, tenant, req.CA); err != nil {
		return TSA{}, err
	}
	key, err := s.newTSAKey(ctx, tenant, req.Name)
	if err != nil {
		return TSA{}, err
	}
	defer func() {
		if err != nil {
			_, _ = s.keys.ScheduleDeletion(ctx, tenant, key, kms.MinDeletionDays)
		}
	}()
	cert, err := s.ca.Issue(ctx, tenant, req.CA, pki.IssueRequest{Key: key, Profile: TSAProfile, Subject: req.Subject, TTL: req.TTL})
	if err != nil {
		return TSA{}, err
	}
	defer func() {
		if err != nil {
			_, _ = s.ca.Revoke(ctx, tenant, cert.Serial, pki.CessationOfOperation)
		}
	}()
	if err := checkTSACertificate(cert.DER); err != nil {
		return TSA{}, err
	}
	rec := TSA{
		Name: req.Name, CA: req.CA, Key: key, Certificate: cert.Serial, Policy: req.Policy,
		Accuracy: req.Accuracy, CertIDHash: req.CertIDHash, CreatedAt: s.clock(),
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return TSA{}, fault.Unexpected(err)
	}
	err = st.Swap(ctx, []storage.Cond{{Key: paths.TSA{Tenant: tenant, Name: req.Name}.String(), Absent: true}}, []storage.Op{{Key: paths.TSA{Tenant: tenant, Name: req.Name}.String(), Value: b}})
	if errors.Is(err, storage.ErrConflict) {
		return TSA{}, fault.New(fault.AlreadyExists, "TSA %q already exists", req.Name)
	}
	if err != nil {
		return TSA{}, fault.Storage(err)
	}
	return rec, nil
}

// tsaProfile creates TSAProfile on ca unless it has one.
func (s *Service) tsaProfile(ctx context.Context, tenant, ca string) error {
	_, err := s.ca.GetProfile(ctx, tenant, ca, TSAProfile)
	if !fault.Is(err, fault.ProfileNotFound) {
		return err
	}
	_, err = s.ca.SetProfile(ctx, tenant, ca, pki.Profile{
		Name: TSAProfile, Usage: pki.Signing,
		KeyUsage:    []string{"digitalSignature", "contentCommitment"},
		ExtKeyUsage: []string{"timeStamping"},
		MaxTTL:      10 * 365 * 24 * time.Hour, DefaultTTL: 5 * 365 * 24 * time.Hour,
		AllowedCommonNames: []string{"**"},
	})
	return err
}

// checkTSACertificate refuses a certificate whose extended key usage is
// not timeStamping alone (RFC 3161 section 2.3).
func checkTSACertificate(der []byte) error {
	cert, err := parseCertificate(der)
	if err != nil {
		return err
	}
	if !slices.Equal(cert.ExtKeyUsage, []smx509.ExtKeyUsage{smx509.ExtKeyUsageTimeStamping}) || len(cert.UnknownExtKeyUsage) > 0 {
		return fault.New(fault.ProfileViolation, "profile %q must give TSA certificates the extended key usage timeStamping and nothing else", TSAProfile)
	}
	return nil
}

// newTSAKey creates the sm2 key of a new TSA, not exportable, named
// "tsa-<name>-<8 random hex digits>" so that a failed creation leaves no
// name taken.
func (s *Service) newTSAKey(ctx context.Context, tenant, name string) (string, error) {
	suffix := make([]byte, 4)
	if _, err := io.ReadFull(s.rand, suffix); err != nil {
		return "", fault.Unexpected(err)
	}
	key := "tsa-" + name + "-" + hex.EncodeToString(suffix)
	_, err := s.keys.Create(ctx, tenant, kms.CreateRequest{
		Name: key, Type: device.SM2, Description: "private key of timestamp authority " + name,
		Tags: map[string]string{"cms-tsa": name},
	})
	return key, err
}

// GetTSA describes a timestamp authority.
func (s *Service) GetTSA(ctx context.Context, tenant, name string) (TSA, error) {
	a, err := s.loadTSA(ctx, tenant, name)
	if err != nil {
		return TSA{}, err
	}
	return a.rec, nil
}

// ListTSAs describes every timestamp authority of a tenant, in name
// order.
func (s *Service) ListTSAs(ctx context.Context, tenant string) ([]TSA, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	keys, err := st.List(ctx, paths.TSAs(tenant), "", 0)
	if err != nil {
		return nil, fault.Storage(err)
	}
	out := make([]TSA, 0, len(keys))
	for _, k := range keys {
		a, err := s.loadTSA(ctx, tenant, strings.TrimPrefix(k, paths.TSAs(tenant)))
		if err != nil {
			return nil, err
		}
		out = append(out, a.rec)
	}
	return out, nil
}

// TSACertificateChain returns the TSA's certificate followed by its CA's
// chain up to the root, as concatenated PEM blocks "CERTIFICATE".
func (s *Service) TSACertificateChain(ctx context.Context, tenant, name string) (string, error) {
	a, err := s.loadTSA(ctx, tenant, name)
	if err != nil {
		return "", err
	}
	chain, err := s.ca.Chain(ctx, tenant, a.rec.CA)
	if err != nil {
		return "", err
	}
	return pemCertificate(a.cert.Raw) + chain, nil
}

// readTSA reads a TSA record; an absent one is tsa_not_found.
func readTSA(ctx context.Context, st storage.Backend, tenant, name string) (TSA, error) {
	b, err := st.Get(ctx, paths.TSA{Tenant: tenant, Name: name}.String())
	if errors.Is(err, storage.ErrNotFound) {
		return TSA{}, fault.New(fault.TSANotFound, "TSA %q not found", name)
	}
	if err != nil {
		return TSA{}, fault.Storage(err)
	}
	var rec TSA
	if err := json.Unmarshal(b, &rec); err != nil {
		return TSA{}, fmt.Errorf("cms: TSA record %s/%s is corrupt: %w", tenant, name, err)
	}
	return rec, nil
}
