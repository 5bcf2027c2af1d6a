package ee

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
	"github.com/mimacrypto/mima/internal/v2x/trust"
)

// loadTrust rebuilds the trust store from the stored trust list and CRL.
func (d *Device) loadTrust() error {
	if d.state.TrustList == nil {
		d.trust = trust.New(d.profile)
		return nil
	}
	store, err := d.trustStore(d.state.TrustList)
	if err != nil {
		return fmt.Errorf("stored trust list: %w", err)
	}
	d.trust = store
	return nil
}

// UpdateTrust downloads the trust list and checks it against the pinned
// root: the home CTL must approve the root, be signed by it, and every
// other certificate must chain to it. A list that fails leaves the device
// with the trust it had.
func (d *Device) UpdateTrust(ctx context.Context, t Transport) error {
	b, err := t.TrustList(ctx)
	if err != nil {
		return err
	}
	store, err := d.trustStore(b)
	if err != nil {
		return err
	}
	d.trust, d.state.TrustList = store, b
	return nil
}

// trustStore is a new trust store of a trust list, with the stored CRL
// if it still applies (an expired one is dropped: UpdateCRL fetches a new
// one).
func (d *Device) trustStore(list []byte) (*trust.Store, error) {
	store := trust.New(d.profile)
	if err := d.applyTrustList(store, list); err != nil {
		return nil, err
	}
	if d.state.CRL != nil {
		_ = d.applyCRL(store, d.state.CRL)
	}
	return store, nil
}

// applyTrustList verifies a CertificateChainSpdu into store.
func (d *Device) applyTrustList(store *trust.Store, b []byte) error {
	chain, err := unsecuredPdu(b)
	if err != nil {
		return err
	}
	cc := chain.Content.Cert
	if cc == nil || cc.CertificateChain == nil {
		return errors.New("not a certificate chain file")
	}
	if err := d.applyHomeCTL(store, &cc.CertificateChain.HomeCtl); err != nil {
		return err
	}
	for i := range cc.CertificateChain.Others {
		if err := store.AddCertificate(&cc.CertificateChain.Others[i], d.now()); err != nil {
			return fmt.Errorf("trust list certificate %d: %w", i, err)
		}
	}
	return nil
}

// applyHomeCTL verifies a home CTL (a MultiSignedCtlSpdu) against the
// pinned root, which it adds to store.
func (d *Device) applyHomeCTL(store *trust.Store, data *ieee1609.Data) error {
	ctl, err := unsecuredData(data)
	if err != nil {
		return err
	}
	if ctl.Content.Cert == nil || ctl.Content.Cert.MultiSignedCtl == nil {
		return errors.New("the home CTL is not a multi-signed CTL")
	}
	m := ctl.Content.Cert.MultiSignedCtl
	var roots []ieee1609.Certificate
	var tbs ieee1609.FullIeeeTbsCtl
	if m.Type != 1 || coer.Unmarshal(m.Unsigned, &roots) != nil || coer.Unmarshal(m.TbsCtl, &tbs) != nil || len(roots) == 0 {
		return errors.New("the home CTL is not a full IEEE CTL with its root certificates")
	}
	pin, err := hex.DecodeString(d.state.RootPin)
	if err != nil {
		return fmt.Errorf("root pin: %w", err)
	}
	var root *ieee1609.Certificate
	for i := range roots {
		if id, err := sec.HashedID8(&roots[i]); err == nil && bytes.Equal(id[:], pin) {
			root = &roots[i]
		}
	}
	if root == nil {
		return fmt.Errorf("the trust list does not carry the pinned root %s", d.state.RootPin)
	}
	enc, err := sec.CanonicalCert(root)
	if err != nil {
		return err
	}
	if !slices.Contains(tbs.RootCaApprove, ieee1609.HashedId32(d.profile.Hash(enc))) {
		return errors.New("the CTL does not approve the pinned root")
	}
	if err := store.AddRoot(root); err != nil {
		return err
	}
	if len(m.Signatures) == 0 {
		return errors.New("the CTL is not signed")
	}
	v, err := store.VerifyData(&m.Signatures[0], trust.Options{At: d.now(), Psid: d.profile.SecurityMgmtPsid})
	if err != nil {
		return fmt.Errorf("CTL signature: %w", err)
	}
	var sig ieee1609.ScmsPdu
	if coer.Unmarshal(v.Payload, &sig) != nil || sig.Content.Cert == nil || sig.Content.Cert.TbsCtlSignature == nil ||
		sig.Content.Cert.TbsCtlSignature.TbsCtlHash != sha512.Sum384(m.TbsCtl) {
		return errors.New("the CTL signature does not cover this CTL")
	}
	return nil
}

// UpdateCRL downloads the composite CRL and takes every CRL in it.
func (d *Device) UpdateCRL(ctx context.Context, t Transport) error {
	b, err := t.CRL(ctx)
	if err != nil {
		return err
	}
	if err := d.applyCRL(d.trust, b); err != nil {
		return err
	}
	d.state.CRL = b
	return nil
}

// applyCRL verifies the CRLs of a composite CRL into store.
func (d *Device) applyCRL(store *trust.Store, b []byte) error {
	p, err := unsecuredPdu(b)
	if err != nil {
		return err
	}
	if p.Content.Cert == nil || p.Content.Cert.CompositeCrl == nil {
		return errors.New("not a composite CRL")
	}
	if err := d.applyHomeCTL(trust.New(d.profile), &p.Content.Cert.CompositeCrl.HomeCtl); err != nil {
		return fmt.Errorf("the CRL's home CTL: %w", err)
	}
	for i := range p.Content.Cert.CompositeCrl.Crl {
		if err := store.AddCRL(&p.Content.Cert.CompositeCrl.Crl[i], d.now()); err != nil {
			return fmt.Errorf("CRL %d: %w", i, err)
		}
	}
	return nil
}

// unsecuredPdu decodes an unsecured Data carrying an ScmsPdu.
func unsecuredPdu(b []byte) (*ieee1609.ScmsPdu, error) {
	var data ieee1609.Data
	if err := coer.Unmarshal(b, &data); err != nil {
		return nil, err
	}
	return unsecuredData(&data)
}

func unsecuredData(data *ieee1609.Data) (*ieee1609.ScmsPdu, error) {
	if data.Content.UnsecuredData == nil {
		return nil, errors.New("expected unsecured data")
	}
	var p ieee1609.ScmsPdu
	if err := coer.Unmarshal(data.Content.UnsecuredData, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
