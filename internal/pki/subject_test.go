package pki

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
)

// hiddenCharacters are NUL and every Unicode bidirectional control: each
// makes a name read differently from what it is.
var hiddenCharacters = []rune{0, 0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069}

// TestSubjectsRefuseHiddenCharacters puts each hidden character into the
// subject and the alternative names of every request that brings one in,
// under the built-in profiles, which allow any name: each request is
// invalid_argument, and a name without it is issued (positive control).
func TestSubjectsRefuseHiddenCharacters(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	if _, err := e.keys.Create(ctx, tenant, kms.CreateRequest{Name: "signer", Type: device.SM2}); err != nil {
		t.Fatal(err)
	}
	csrKey, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	password := []byte("correct horse battery")
	requests := map[string]func(n int, subject Name, sans SANs) error{
		"CreateRoot": func(n int, subject Name, _ SANs) error {
			_, err := e.s.CreateRoot(ctx, tenant, CreateCARequest{Name: fmt.Sprintf("root-%d", n), Subject: subject})
			return err
		},
		"CreateIntermediate": func(n int, subject Name, _ SANs) error {
			_, err := e.s.CreateIntermediate(ctx, tenant, "root", CreateCARequest{Name: fmt.Sprintf("sub-%d", n), Subject: subject})
			return err
		},
		"CreateExternal": func(n int, subject Name, _ SANs) error {
			_, err := e.s.CreateExternal(ctx, tenant, CreateExternalRequest{Name: fmt.Sprintf("ext-%d", n), Subject: subject})
			return err
		},
		"SignCSR": func(_ int, subject Name, sans SANs) error {
			_, err := e.s.SignCSR(ctx, tenant, "root", SignCSRRequest{CSR: csrWith(t, csrKey, subject, sans)})
			return err
		},
		"Issue": func(_ int, subject Name, sans SANs) error {
			_, err := e.s.Issue(ctx, tenant, "root", IssueRequest{Key: "signer", Subject: subject, SANs: sans})
			return err
		},
		"IssueKeyPair": func(_ int, subject Name, sans SANs) error {
			_, err := e.s.IssueKeyPair(ctx, tenant, "root", KeyPairRequest{Subject: subject, SANs: sans, Format: PKCS8, Password: password})
			return err
		},
		"IssueDual": func(_ int, subject Name, sans SANs) error {
			_, err := e.s.IssueDual(ctx, tenant, "root", DualRequest{CSR: csrWith(t, csrKey, subject, sans)})
			return err
		},
	}
	n := 0
	for what, request := range requests {
		n++
		if err := request(n, Name{CommonName: "Plain Name", Organization: []string{"Acme"}}, SANs{Email: []string{"a@example.com"}}); err != nil {
			t.Fatalf("%s, positive control: %v", what, err)
		}
		for _, r := range hiddenCharacters {
			bad := "Pay" + string(r) + "lexe.example"
			for field, args := range map[string]struct {
				subject Name
				sans    SANs
			}{
				"common name":  {Name{CommonName: bad}, SANs{}},
				"organization": {Name{CommonName: "ok", Organization: []string{bad}}, SANs{}},
				"locality":     {Name{CommonName: "ok", Locality: []string{bad}}, SANs{}},
				"e-mail SAN":   {Name{CommonName: "ok"}, SANs{Email: []string{"pay" + string(r) + "@example.com"}}},
				"URI SAN":      {Name{CommonName: "ok"}, SANs{URI: []string{"https://example.com/" + string(r)}}},
			} {
				if args.sans.count() > 0 && what != "Issue" && what != "IssueKeyPair" {
					// CA requests have no alternative names, and a CSR's
					// are IA5Strings, which hold no bidi controls.
					continue
				}
				n++
				wantCode(t, fmt.Sprintf("%s with %U in its %s", what, r, field), request(n, args.subject, args.sans), fault.InvalidArgument)
			}
		}
	}
}

// csrWith makes a CSR of key for subject and e-mail SANs, as UTF8Strings,
// refusing nothing.
func csrWith(t *testing.T, key *sm2.PrivateKey, subject Name, sans SANs) []byte {
	t.Helper()
	return csrFor(t, key, &smx509.CertificateRequest{Subject: subject.pkix(), EmailAddresses: sans.Email})
}

// TestEmailSANIsASCII checks that an e-mail alternative name that an
// rfc822Name (IA5String) cannot hold is refused as invalid, not left to
// fail in the encoder as an internal error.
func TestEmailSANIsASCII(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	_, err := e.s.IssueKeyPair(ctx, tenant, "root", KeyPairRequest{
		Subject: Name{CommonName: "ok"}, SANs: SANs{Email: []string{"张三@example.com"}}, Format: PKCS8, Password: []byte("correct horse battery"),
	})
	wantCode(t, "a non-ASCII e-mail address", err, fault.InvalidArgument)
}
