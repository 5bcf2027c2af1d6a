package pki

import (
	"context"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// CAKind tells how a CA came to be.
type CAKind string

// CA kinds.
const (
	// Root is a self-signed CA.
	Root CAKind = "root"
	// Intermediate is a CA signed by another CA of the tenant.
	Intermediate CAKind = "intermediate"
	// External is a CA whose certificate comes from outside mima: created
	// with a CSR, completed by InstallCertificate.
	External CAKind = "external"
	// Imported is an existing CA whose certificate and private key were
	// imported (ImportCAParams, ImportCA).
	Imported CAKind = "imported"
)

// CAState is the state of a CA.
type CAState string

// CA states. Only active CAs issue certificates.
const (
	Active CAState = "active"
	// Pending CAs wait for their certificate (External) or their key and
	// certificate (Imported).
	Pending CAState = "pending"
)

// UnlimitedPathLen, as a MaxPathLen, sets no path length constraint.
const UnlimitedPathLen = -1

// CA describes a certificate authority.
type CA struct {
	Name  string
	Kind  CAKind
	State CAState
	// Key is the name of the CA's sm2 key in the key service.
	Key string
	// Parent is the CA that signed an intermediate CA.
	Parent string
	// Subject is the CA's distinguished name (RFC 2253 form); empty while
	// pending.
	Subject string
	// Certificate is the CA's certificate, DER; nil while pending.
	Certificate []byte
	// CSR is the certificate request of an external CA, DER.
	CSR                 []byte
	NotBefore, NotAfter time.Time
	// MaxPathLen is the CA's path length constraint, or UnlimitedPathLen.
	MaxPathLen int
	Config     Config
	CreatedAt  time.Time
}

func (a *authority) info() CA {
	r := a.rec
	c := CA{
		Name: r.Name, Kind: r.Kind, State: r.State, Key: r.Key, Parent: r.Parent,
		Certificate: r.Certificate, CSR: r.CSR, Config: r.Config, CreatedAt: r.CreatedAt,
		MaxPathLen: UnlimitedPathLen,
	}
	if a.cert != nil {
		c.Subject = a.cert.Subject.String()
		c.NotBefore, c.NotAfter = a.cert.NotBefore, a.cert.NotAfter
		if a.cert.MaxPathLen > 0 || a.cert.MaxPathLenZero {
			c.MaxPathLen = a.cert.MaxPathLen
		}
	}
	return c
}

// GetCA describes a CA. Another tenant's CA is ca_not_found.
func (s *Service) GetCA(ctx context.Context, tenant, ca string) (CA, error) {
	a, err := s.loadCA(ctx, tenant, ca)
	if err != nil {
		return CA{}, err
	}
	return a.info(), nil
}

// ListCAs describes every CA of a tenant, in name order.
func (s *Service) ListCAs(ctx context.Context, tenant string) ([]CA, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	keys, err := st.List(ctx, paths.CAs(tenant), "", 0)
	if err != nil {
		return nil, fault.Storage(err)
	}
	out := make([]CA, 0, len(keys))
	for _, k := range keys {
		a, err := s.loadCA(ctx, tenant, strings.TrimPrefix(k, paths.CAs(tenant)))
		if err != nil {
			return nil, err
		}
		out = append(out, a.info())
	}
	return out, nil
}

// Chain returns the certificate chain of an active CA as concatenated PEM
// blocks "CERTIFICATE": the CA's own certificate first, then each issuer
// up to the root (for an external or imported CA, as far as the chain
// given at installation goes).
func (s *Service) Chain(ctx context.Context, tenant, ca string) (string, error) {
	a, err := s.loadCA(ctx, tenant, ca)
	if err != nil {
		return "", err
	}
	if a.rec.State != Active {
		return "", fault.New(fault.CAPending, "CA %q has no certificate yet", ca)
	}
	var b strings.Builder
	for _, der := range append([][]byte{a.rec.Certificate}, a.rec.Chain...) {
		b.WriteString(pemCert(der))
	}
	return b.String(), nil
}
