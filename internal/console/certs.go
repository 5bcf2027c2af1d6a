package console

import (
	"net/url"
	"time"

	"github.com/mimacrypto/mima/internal/compliance"
	"github.com/mimacrypto/mima/sdk"
)

func certsPage(q *req) ([]section, error) {
	f := q.r.URL.Query()
	cq := sdk.CertificatesQuery{State: f.Get("state"), CA: f.Get("ca"), After: f.Get("after"), Limit: 50}
	if f.Get("expiring") != "" {
		cq.State, cq.ExpiresBefore = "valid", time.Now().Add(compliance.ExpiryWindow)
	}
	page, err := q.api.Certs().List(q.ctx(), cq)
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Serial", "CA", "Subject", "Not after", "State", "Actions"}}
	for _, ct := range page.Certificates {
		var acts []action
		if ct.State == "valid" || ct.State == "on_hold" {
			acts = []action{{"/ui/certs/" + url.PathEscape(ct.Serial) + "/revoke", "Revoke"}}
		}
		t.Rows = append(t.Rows, []cell{{Text: ct.Serial}, {Text: ct.CA}, {Text: ct.Subject}, {Text: when(ct.NotAfter)}, {Text: ct.State}, {Actions: acts}})
	}
	cas, err := q.api.CA().List(q.ctx())
	if err != nil {
		return nil, err
	}
	ct := &table{Head: []string{"CA", "Type", "State", "Subject", "Not after", "CRL"}}
	for _, ca := range cas {
		ct.Rows = append(ct.Rows, []cell{{Text: ca.Name}, {Text: ca.Type}, {Text: ca.State}, {Text: ca.Subject}, {Text: when(ca.NotAfter)},
			{Text: "CRL (PEM)", Href: "/v1/pki/" + url.PathEscape(q.sess.tenant) + "/ca/" + url.PathEscape(ca.Name) + "/crl.pem"}})
	}
	return []section{
		{Title: "Certificate authorities", Note: "CRLs and OCSP are served without a token to relying parties.", Table: ct},
		{Title: "Search", Form: &form{Action: "/ui/certs", Method: "GET", Submit: "Search", Fields: []field{
			{Name: "state", Label: "State", Type: "select", Value: cq.State, Options: []string{"", "valid", "revoked", "on_hold", "expired"}},
			{Name: "expiring", Label: "Expiring within 30 days", Type: "checkbox", Value: f.Get("expiring")},
		}}},
		{Title: "Certificates", Table: t},
	}, nil
}

func revokeCert(q *req) ([]section, error) {
	serial := q.r.PathValue("serial")
	if _, err := q.api.Certs().Revoke(q.ctx(), serial, "unspecified"); err != nil {
		return nil, err
	}
	return nil, done("/ui/certs", "revoked "+serial)
}

func tsasPage(q *req) ([]section, error) {
	var list struct {
		TSAs []sdk.TSA `json:"tsas"`
	}
	if err := q.getJSON("/v1/tsas", &list); err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Name", "CA", "Key", "Policy", "Accuracy", "Created"}}
	for _, s := range list.TSAs {
		t.Rows = append(t.Rows, []cell{{Text: s.Name}, {Text: s.CA}, {Text: s.Key}, {Text: s.Policy}, {Text: s.Accuracy}, {Text: when(s.CreatedAt)}})
	}
	return []section{{Title: "Timestamp authorities", Table: t}}, nil
}
