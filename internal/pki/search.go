package pki

import (
	"context"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
)

// Search page sizes, and how many certificates one Search examines at
// most.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	maxExamined     = 10_000
)

// SearchRequest selects certificates of a tenant; every criterion that is
// set must hold.
type SearchRequest struct {
	// CA issued the certificate.
	CA string
	// Subject is a substring of the subject distinguished name (RFC 2253
	// form, as Certificate.Subject), ignoring case.
	Subject string
	// SAN is one of the subject alternative names (DNS, e-mail, IP or
	// URI), ignoring case.
	SAN string
	// Serial is the serial number (hex).
	Serial string
	// State, as reported now (Expired included).
	State CertState
	// ExpiresAfter and ExpiresBefore bound notAfter: after <= notAfter <
	// before.
	ExpiresAfter, ExpiresBefore time.Time
	// Limit is the page size: 1 to MaxPageSize; 0 is DefaultPageSize.
	Limit int
	// Cursor continues a search from CertificatePage.Cursor.
	Cursor string
}

// CertificatePage is a page of search results in serial number order.
type CertificatePage struct {
	Certificates []Certificate
	// Cursor, when not empty, continues the search. A page may hold fewer
	// than Limit certificates and still have a cursor: one Search examines
	// at most 10,000 certificates.
	Cursor string
}

// Search lists the certificates that match req, a page at a time. Apart
// from a Serial, it examines the tenant's certificates in serial order.
func (s *Service) Search(ctx context.Context, tenant string, req SearchRequest) (CertificatePage, error) {
	if req.Limit == 0 {
		req.Limit = DefaultPageSize
	}
	if req.Limit < 1 || req.Limit > MaxPageSize {
		return CertificatePage{}, fault.Invalid("the page size (limit) is 1 to %d", MaxPageSize)
	}
	now := s.clock()
	if req.Serial != "" {
		c, err := s.GetCertificate(ctx, tenant, req.Serial)
		switch {
		case fault.Is(err, fault.CertificateNotFound):
			return CertificatePage{}, nil
		case err != nil:
			return CertificatePage{}, err
		case !req.match(c):
			return CertificatePage{}, nil
		}
		return CertificatePage{Certificates: []Certificate{c}}, nil
	}
	if err := checkTenant(tenant); err != nil {
		return CertificatePage{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return CertificatePage{}, err
	}
	after := ""
	if req.Cursor != "" {
		sn, err := parseSerial(req.Cursor)
		if err != nil {
			return CertificatePage{}, fault.Invalid("the cursor is not one a search returned")
		}
		after = certPath(tenant, sn)
	}
	var page CertificatePage
	examined := 0
	for {
		paths, err := st.List(ctx, certPrefix(tenant), after, MaxPageSize)
		if err != nil {
			return CertificatePage{}, fault.Storage(err)
		}
		for _, p := range paths {
			serial := strings.TrimPrefix(p, certPrefix(tenant))
			c, err := readCert(ctx, st, tenant, serial)
			if err != nil {
				return CertificatePage{}, err
			}
			if r := c.at(now); req.match(r) {
				page.Certificates = append(page.Certificates, r)
			}
			examined++
			if len(page.Certificates) == req.Limit || examined == maxExamined {
				page.Cursor = serial
				return page, nil
			}
			after = p
		}
		if len(paths) < MaxPageSize {
			return page, nil
		}
	}
}

// match reports whether c, as reported now, meets every criterion set
// but Serial, which Search looks up directly.
func (req *SearchRequest) match(c Certificate) bool {
	switch {
	case req.CA != "" && c.CA != req.CA,
		req.State != "" && c.State != req.State,
		!req.ExpiresAfter.IsZero() && c.NotAfter.Before(req.ExpiresAfter),
		!req.ExpiresBefore.IsZero() && !c.NotAfter.Before(req.ExpiresBefore),
		req.Subject != "" && !strings.Contains(strings.ToLower(c.Subject), strings.ToLower(req.Subject)):
		return false
	}
	if req.SAN == "" {
		return true
	}
	for _, names := range [][]string{c.SANs.DNS, c.SANs.Email, c.SANs.IP, c.SANs.URI} {
		for _, n := range names {
			if strings.EqualFold(n, req.SAN) {
				return true
			}
		}
	}
	return false
}
