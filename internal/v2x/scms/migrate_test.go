package scms

import (
	"bytes"
	cryptoRand "crypto/rand"
	"encoding/asn1"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/paths"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
)

// TestMigrateFormerSigningInput: a deployment whose certificates an
// earlier mima signed under its former SM2 input is refused with an error
// naming `mima v2x migrate`; Migrate re-issues the authority certificates
// (same bodies and keys) and CRLs under GB/T 45112-2024's input, after
// which devices enrol, get pseudonyms and verify each other's messages.
func TestMigrateFormerSigningInput(t *testing.T) {
	w := newWorld(t, DeploymentRequest{})
	former := w.formerDeployment(t)

	for what, call := range map[string]func() error{
		"get":        func() error { _, err := w.s.Get(ctx, "cn"); return err },
		"trust list": func() error { _, err := w.s.TrustList(ctx, "cn"); return err },
		"enrol":      func() error { _, err := w.s.Enrol(ctx, "cn", []byte{0}); return err },
	} {
		err := call()
		if !fault.Is(err, fault.MigrationRequired) || !strings.Contains(err.Error(), "mima v2x migrate cn") {
			t.Errorf("%s of a former deployment: %v", what, err)
		}
	}

	dep, err := w.s.Migrate(ctx, "cn")
	if err != nil {
		t.Fatal(err)
	}
	if dep.SigningInput != SigningInputGBT45112 {
		t.Errorf("signing input %q", dep.SigningInput)
	}
	was, now := former.certs(), dep.certs()
	for role := range was {
		var a, b ieee1609.Certificate
		if err := coer.Unmarshal(*was[role], &a); err != nil {
			t.Fatal(err)
		}
		if err := coer.Unmarshal(*now[role], &b); err != nil {
			t.Fatal(err)
		}
		ta, _ := coer.Marshal(&a.ToBeSigned)
		tb, _ := coer.Marshal(&b.ToBeSigned)
		if !bytes.Equal(ta, tb) || bytes.Equal(*was[role], *now[role]) {
			t.Errorf("%s: not the same body re-signed", role)
		}
	}
	again, err := w.s.Migrate(ctx, "cn")
	if err != nil || !bytes.Equal(again.Root, dep.Root) || !bytes.Equal(again.PCA, dep.PCA) {
		t.Errorf("a second migration changed the deployment: %v", err)
	}

	w.dep = dep
	a, b := w.device(t, "VIN-A", "vehicle"), w.device(t, "VIN-B", "vehicle")
	w.pseudonyms(t, a, time.Hour, 1)
	msg, err := a.Sign([]byte("bsm"), PsidBSM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(msg, PsidBSM, time.Minute); err != nil {
		t.Errorf("a message after migration: %v", err)
	}
}

// formerDeployment turns w's deployment into one an earlier mima made:
// every authority certificate re-signed, root to leaves, over H(H(tbs) ||
// H(signer)) with ID_A 1234567812345678, and no signing input recorded;
// the service forgets what it loaded, as after an upgrade. It returns
// that record.
func (w *world) formerDeployment(t *testing.T) Deployment {
	t.Helper()
	d := w.dep
	b := newBuilder(w.s, &d, w.clock.Now())
	certs := d.certs()
	for _, a := range w.s.authorities(&d) {
		c := new(ieee1609.Certificate)
		if err := coer.Unmarshal(*certs[a.role], c); err != nil {
			t.Fatal(err)
		}
		signer, issuer := a.role, b.certs[a.issuer]
		var issuerEnc []byte
		if issuer != nil {
			signer = a.issuer
			id, _ := sec.HashedID8(issuer)
			c.Issuer.Sm3AndDigest = &id
			issuerEnc, _ = coer.Marshal(issuer)
		}
		key, err := w.s.keys.Signer(ctx, b.tenants[signer], keyName(d.Name, signer, "sign"))
		if err != nil {
			t.Fatal(err)
		}
		tbs, _ := coer.Marshal(&c.ToBeSigned)
		m := append(sec.CN.Hash(tbs), sec.CN.Hash(issuerEnc)...)
		der, err := key.Sign(cryptoRand.Reader, m, sm2.DefaultSM2SignerOpts)
		if err != nil {
			t.Fatal(err)
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			t.Fatal(err)
		}
		sig := &ieee1609.EcsigP256Signature{}
		rs.R.FillBytes(sig.RSig[:])
		rs.S.FillBytes(sig.SSig[:])
		c.Signature = &ieee1609.Signature{Sm2Signature: sig}
		b.certs[a.role] = c
	}
	if err := b.store(); err != nil {
		t.Fatal(err)
	}
	d.SigningInput = ""
	rec, _ := json.Marshal(d)
	if err := w.store.Put(ctx, paths.Deployment{Name: d.Name}.String(), rec); err != nil {
		t.Fatal(err)
	}
	w.s.deps.Remove(paths.Deployment{Name: d.Name})
	return d
}
