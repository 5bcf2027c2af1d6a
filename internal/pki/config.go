package pki

import (
	"context"
	"net/url"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
)

// Defaults and bounds of a CA's Config.
const (
	DefaultCRLValidity  = 24 * time.Hour
	DefaultOCSPValidity = time.Hour
	MinCRLValidity      = time.Hour
	MaxCRLValidity      = 366 * 24 * time.Hour
	MinOCSPValidity     = time.Minute
	MaxOCSPValidity     = 7 * 24 * time.Hour
	maxURL              = 2048
)

// Config is what a CA puts in the certificates it issues and how long its
// revocation information is valid.
type Config struct {
	// CRLURL, when set, is the CRL distribution point of every certificate
	// the CA issues: an absolute http or https URL serving CRL(tenant, ca).
	CRLURL string `json:"crl_url,omitempty"`
	// OCSPURL, when set, is the OCSP responder of every certificate the CA
	// issues (authority information access): an absolute http or https URL
	// serving RespondOCSP(tenant, ca).
	OCSPURL string `json:"ocsp_url,omitempty"`
	// CRLValidity is the interval between a CRL's thisUpdate and
	// nextUpdate, MinCRLValidity to MaxCRLValidity; 0 means
	// DefaultCRLValidity. RunJobs issues a new CRL once half of it has
	// passed.
	CRLValidity time.Duration `json:"crl_validity"`
	// OCSPValidity is the interval between an OCSP answer's thisUpdate and
	// nextUpdate, MinOCSPValidity to MaxOCSPValidity; 0 means
	// DefaultOCSPValidity.
	OCSPValidity time.Duration `json:"ocsp_validity"`
}

// normalize checks c and fills in defaults.
func (c Config) normalize() (Config, error) {
	for _, u := range []string{c.CRLURL, c.OCSPURL} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || len(u) > maxURL || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return Config{}, fault.Invalid("%q is not an absolute http or https URL of at most %d bytes", u, maxURL)
		}
	}
	if c.CRLValidity == 0 {
		c.CRLValidity = DefaultCRLValidity
	}
	if c.OCSPValidity == 0 {
		c.OCSPValidity = DefaultOCSPValidity
	}
	if c.CRLValidity < MinCRLValidity || c.CRLValidity > MaxCRLValidity {
		return Config{}, fault.Invalid("the CRL validity must be %s to %s", MinCRLValidity, MaxCRLValidity)
	}
	if c.OCSPValidity < MinOCSPValidity || c.OCSPValidity > MaxOCSPValidity {
		return Config{}, fault.Invalid("the OCSP validity must be %s to %s", MinOCSPValidity, MaxOCSPValidity)
	}
	return c, nil
}

// SetConfig replaces the configuration of a CA. Certificates issued
// before keep their URLs; the next CRL uses the new validity.
func (s *Service) SetConfig(ctx context.Context, tenant, ca string, cfg Config) (CA, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return CA{}, err
	}
	return s.updateCA(ctx, tenant, ca, func(_ storage.Backend, r *caRecord) ([]storage.Op, error) {
		r.Config = cfg
		return nil, nil
	})
}
