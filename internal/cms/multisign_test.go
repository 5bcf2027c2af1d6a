package cms

import (
	"bytes"
	"slices"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
)

// TestAddSigner adds parallel signers to attached and detached
// SignedData of both OID sets, keeps the first signer byte for byte, and
// verifies all.
func TestAddSigner(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.intermediate(t, "root", "issuing")
	e.key(t, "root", "alice")
	e.key(t, "issuing", "bob")
	e.tsa(t, "root", "tsa")
	content := []byte("joint statement")
	for _, tc := range []struct {
		name     string
		detached bool
		rfc      bool
	}{{"gm attached", false, false}, {"rfc detached", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			first := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: content, Detached: tc.detached, RFC5652: tc.rfc})
			req := AddSignerRequest{SignerOptions: SignerOptions{Key: "bob", IncludeChain: true, TSA: "tsa"}, CMS: first}
			vreq := VerifyRequest{}
			if tc.detached {
				req.Content, vreq.Content = content, content
			}
			both, err := e.s.AddSigner(ctx, tenant, req)
			if err != nil {
				t.Fatal(err)
			}
			p := mustParse(t, both)
			if len(p.signers) != 2 || len(p.sd.DigestAlgorithms) != 1 || len(p.certs) != 4 || p.oids.signedData.String() != mustParse(t, first).oids.signedData.String() {
				t.Errorf("%d signers, %d digest algorithms, %d certificates", len(p.signers), len(p.sd.DigestAlgorithms), len(p.certs))
			}
			if !bytes.Contains(both, mustParse(t, first).sd.SignerInfos[0].FullBytes) {
				t.Error("the first signer changed")
			}
			vreq.CMS = both
			r := e.verify(t, vreq)
			if !r.Valid || len(r.Signers) != 2 {
				t.Fatalf("report %+v", r)
			}
			stamped := 0
			for _, s := range r.Signers {
				if s.Timestamp != nil && s.Timestamp.Valid {
					stamped++
				}
			}
			if stamped != 1 {
				t.Errorf("%d signers have a timestamp", stamped)
			}
		})
	}
	detached := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: content, Detached: true})
	_, err := e.s.AddSigner(ctx, tenant, AddSignerRequest{SignerOptions: SignerOptions{Key: "bob"}, CMS: detached, Content: []byte("other")})
	wantCode(t, "other content", err, fault.InvalidArgument)
	_, err = e.s.AddSigner(ctx, tenant, AddSignerRequest{SignerOptions: SignerOptions{Key: "bob"}, CMS: []byte("junk")})
	wantCode(t, "junk", err, fault.CMSMalformed)
}

// TestCounterSign countersigns a signer, twice, and a countersignature
// that does not match the signature it countersigns fails.
func TestCounterSign(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.key(t, "root", "alice")
	notary := e.key(t, "root", "notary")
	e.key(t, "root", "witness")
	doc := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("deed")})
	once, err := e.s.CounterSign(ctx, tenant, CounterSignRequest{SignerOptions: SignerOptions{Key: "notary"}, CMS: doc})
	if err != nil {
		t.Fatal(err)
	}
	twice, err := e.s.CounterSign(ctx, tenant, CounterSignRequest{SignerOptions: SignerOptions{Key: "witness"}, CMS: once})
	if err != nil {
		t.Fatal(err)
	}
	r := e.verify(t, VerifyRequest{CMS: twice})
	if !r.Valid || len(r.Signers) != 1 || len(r.Signers[0].CounterSignatures) != 2 {
		t.Fatalf("report %+v", r)
	}
	var subjects []string
	for _, c := range r.Signers[0].CounterSignatures {
		if !c.Valid || c.SigningTime.IsZero() {
			t.Errorf("countersigner %+v", c)
		}
		subjects = append(subjects, c.Certificate.Subject)
	}
	slices.Sort(subjects)
	if !slices.Equal(subjects, []string{"CN=notary,O=Acme", "CN=witness,O=Acme"}) {
		t.Errorf("countersigners %q", subjects)
	}
	if len(mustParse(t, twice).certs) != 3 {
		t.Errorf("%d certificates", len(mustParse(t, twice).certs))
	}

	// Move notary's countersignature onto another signature.
	other := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("another deed")})
	p := mustParse(t, other)
	si := p.signers[0]
	si.UnsignedAttrs = mustParse(t, once).signers[0].UnsignedAttrs
	setSigner(t, p, 0, si)
	p.sd.Certificates = mustParse(t, once).sd.Certificates
	r = e.verify(t, VerifyRequest{CMS: remarshal(t, p)})
	if r.Valid || !r.Signers[0].Valid {
		t.Errorf("moved countersignature: %+v", r)
	}
	wantReasons(t, "moved countersignature", r.Signers[0].CounterSignatures[0].Reasons, ContentDigestMismatch)

	e.revoke(t, notary.Serial, pki.KeyCompromise)
	r = e.verify(t, VerifyRequest{CMS: once})
	if r.Valid || !r.Signers[0].Valid {
		t.Errorf("revoked countersigner: %+v", r)
	}
	for _, tc := range []struct {
		name string
		req  CounterSignRequest
		code fault.Code
	}{
		{"no such signer", CounterSignRequest{SignerOptions: SignerOptions{Key: "witness"}, CMS: doc, Signer: 1}, fault.InvalidArgument},
		{"negative signer", CounterSignRequest{SignerOptions: SignerOptions{Key: "witness"}, CMS: doc, Signer: -1}, fault.InvalidArgument},
		{"revoked countersigner", CounterSignRequest{SignerOptions: SignerOptions{Key: "notary"}, CMS: doc}, fault.CertificateRevoked},
	} {
		_, err := e.s.CounterSign(ctx, tenant, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
}
