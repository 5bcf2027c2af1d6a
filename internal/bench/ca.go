package bench

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/pki"
)

// prepareCA makes sure the root CA <key>-ca exists and builds a sign-csr
// request (a fresh SM2 CSR) or an OCSP request for a certificate it issued.
func (a *api) prepareCA(ctx context.Context, cfg Config) (Request, error) {
	if a.caBase == "" {
		return Request{}, fmt.Errorf("%s does not offer %s here", a.name, cfg.Op)
	}
	ca := cfg.Key + "-ca"
	err := call(ctx, "POST", a.caBase, a.header, map[string]any{"name": ca, "type": "root", "subject": map[string]string{"common_name": "mima bench CA"}}, nil)
	if err != nil && !strings.Contains(err.Error(), "already_exists") {
		return Request{}, err
	}
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return Request{}, err
	}
	der, err := smx509.CreateCertificateRequest(rand.Reader, &smx509.CertificateRequest{Subject: pkix.Name{CommonName: "bench.example"}}, priv)
	if err != nil {
		return Request{}, err
	}
	csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	body, _ := json.Marshal(map[string]string{"csr": csr})
	signCSR := Request{Method: "POST", URL: a.caBase + "/" + ca + "/sign-csr", Header: a.header, Body: body, Items: 1}
	if cfg.Op == "sign-csr" {
		return signCSR, nil
	}
	var leaf, root struct {
		Certificate string `json:"certificate"`
	}
	if err := call(ctx, "POST", signCSR.URL, a.header, map[string]string{"csr": csr}, &leaf); err != nil {
		return Request{}, err
	}
	if err := call(ctx, "GET", a.caBase+"/"+ca, a.header, nil, &root); err != nil {
		return Request{}, err
	}
	leafCert, err := parsePEMCert(leaf.Certificate)
	if err != nil {
		return Request{}, err
	}
	rootCert, err := parsePEMCert(root.Certificate)
	if err != nil {
		return Request{}, err
	}
	req, err := pki.NewOCSPRequest(leafCert, rootCert, nil)
	if err != nil {
		return Request{}, err
	}
	h := a.header.Clone()
	h.Set("Content-Type", "application/ocsp-request")
	return Request{Method: http.MethodPost, URL: a.caBase + "/" + ca + "/ocsp", Header: h, Body: req, Items: 1}, nil
}

func parsePEMCert(s string) (*smx509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, fmt.Errorf("no PEM certificate in the answer")
	}
	return smx509.ParseCertificate(b.Bytes)
}
