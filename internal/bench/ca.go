package bench

import (
	"bytes"
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

	"github.com/mimacrypto/mima/internal/cms"
	"github.com/mimacrypto/mima/internal/pki"
)

// prepareCA makes sure the root CA <key>-ca exists and builds a sign-csr
// request (a fresh SM2 CSR), an OCSP request for a certificate it issued,
// or (prepareSignature) a CMS signing or timestamp request.
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
	switch cfg.Op {
	case "sign-csr":
		return signCSR, nil
	case "cms-sign", "timestamp":
		return a.prepareSignature(ctx, cfg, ca)
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

// prepareSignature makes sure the sm2 key <key>-signer, certified by ca,
// and the TSA <key>-tsa exist, and builds a CMS signing request or a
// timestamp request.
func (a *api) prepareSignature(ctx context.Context, cfg Config, ca string) (Request, error) {
	root := strings.TrimSuffix(a.caBase, "/ca")
	signer, tsa := cfg.Key+"-signer", cfg.Key+"-tsa"
	if err := a.createKey(ctx, signer, "sm2"); err != nil {
		return Request{}, err
	}
	if err := call(ctx, "GET", root+"/keys/"+signer+"/certificate", a.header, nil, nil); err != nil {
		issue := map[string]any{"key": signer, "subject": map[string]string{"common_name": "mima bench signer"}}
		if err := call(ctx, "POST", a.caBase+"/"+ca+"/issue", a.header, issue, nil); err != nil {
			return Request{}, err
		}
	}
	payload := make([]byte, cfg.PayloadSize)
	if cfg.Op == "cms-sign" {
		body, _ := json.Marshal(map[string]any{"key": signer, "content": payload})
		return Request{Method: "POST", URL: root + "/cms/sign", Header: a.header, Body: body, Items: 1}, nil
	}
	err := call(ctx, "POST", root+"/tsas", a.header, map[string]string{"name": tsa, "ca": ca}, nil)
	if err != nil && !strings.Contains(err.Error(), "already_exists") {
		return Request{}, err
	}
	req, _, err := cms.NewTimestampRequest(rand.Reader, bytes.NewReader(payload))
	if err != nil {
		return Request{}, err
	}
	h := a.header.Clone()
	h.Set("Content-Type", "application/timestamp-query")
	return Request{Method: "POST", URL: root + "/tsa/" + tsa, Header: h, Body: req, Items: 1}, nil
}
