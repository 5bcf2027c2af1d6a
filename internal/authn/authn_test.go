package authn

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T) (*Service, *clock, Issued) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	s := unsealed(inmem.New(), WithClock(c.now), WithOperations([]string{"keys.read", "keys.list", "encrypt", "decrypt", "tokens.create"}))
	root, err := s.Bootstrap(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, root
}

func mustAuth(t *testing.T, s *Service, bearer string) *Token {
	t.Helper()
	tok, err := s.Authenticate(context.Background(), bearer)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return tok
}

func TestRootTokenAndDefaultTenant(t *testing.T) {
	s, _, root := newService(t)
	tok := mustAuth(t, s, root.Token)
	if !tok.Root || tok.Accessor != root.Info.Accessor {
		t.Fatalf("root token record: %+v", tok)
	}
	if _, err := s.Tenant(context.Background(), DefaultTenant); err != nil {
		t.Fatal(err)
	}
	if err := s.Authorize(context.Background(), tok, "anything", "keys.read", "k"); err != nil {
		t.Fatalf("root denied: %v", err)
	}
}

func TestAuthenticateFailures(t *testing.T) {
	s, c, root := newService(t)
	ctx := context.Background()
	_, admin, err := s.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	app, err := s.CreateToken(ctx, mustAuth(t, s, admin.Token), "acme", TokenRequest{Policies: []string{AdminPolicy}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret := root.Token[:len(root.Token)-2] + "AA"
	if wrongSecret == root.Token {
		wrongSecret = root.Token[:len(root.Token)-2] + "BA"
	}
	for _, tc := range []struct {
		name, bearer string
		code         fault.Code
	}{
		{"empty", "", fault.Unauthenticated},
		{"garbage", "hello", fault.Unauthenticated},
		{"wrong scheme", strings.Replace(root.Token, "mima.", "vault.", 1), fault.Unauthenticated},
		{"wrong secret", wrongSecret, fault.Unauthenticated},
		{"unknown accessor", "mima.AAAAAAAAAAAAAAAA." + strings.Repeat("A", 43), fault.Unauthenticated},
	} {
		if _, err := s.Authenticate(ctx, tc.bearer); !fault.Is(err, tc.code) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	c.t = c.t.Add(time.Hour)
	if _, err := s.Authenticate(ctx, app.Token); !fault.Is(err, fault.TokenExpired) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestStaticRootToken(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	if err := s.CreateStaticRoot(ctx, "dev-root-secret"); err != nil {
		t.Fatal(err)
	}
	if tok := mustAuth(t, s, "dev-root-secret"); !tok.Root {
		t.Fatal("static token is not root")
	}
	s.Purge()
	mustAuth(t, s, "dev-root-secret")
	if _, err := s.Authenticate(ctx, "dev-root-secreT"); !fault.Is(err, fault.Unauthenticated) {
		t.Fatalf("near miss: %v", err)
	}
	if err := s.CreateStaticRoot(ctx, "abc"); !fault.Is(err, fault.InvalidArgument) {
		t.Fatalf("short static token: %v", err)
	}
}

func TestRevokeCascadesToChildren(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	_, admin, _ := s.CreateTenant(ctx, "acme")
	adminTok := mustAuth(t, s, admin.Token)
	child, err := s.CreateToken(ctx, adminTok, "acme", TokenRequest{Policies: []string{AdminPolicy}})
	if err != nil {
		t.Fatal(err)
	}
	grandchild, err := s.CreateToken(ctx, mustAuth(t, s, child.Token), "acme", TokenRequest{Policies: []string{AdminPolicy}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "acme", child.Info.Accessor); err != nil {
		t.Fatal(err)
	}
	for name, bearer := range map[string]string{"child": child.Token, "grandchild": grandchild.Token} {
		if _, err := s.Authenticate(ctx, bearer); !fault.Is(err, fault.TokenRevoked) {
			t.Errorf("%s after revoke: %v", name, err)
		}
	}
	mustAuth(t, s, admin.Token)
	// Revocation survives a cache purge (it is stored, not only cached).
	s.Purge()
	if _, err := s.Authenticate(ctx, grandchild.Token); !fault.Is(err, fault.TokenRevoked) {
		t.Fatalf("grandchild after purge: %v", err)
	}
	if err := s.RevokeToken(ctx, "acme", child.Info.Accessor); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
}

func TestTenantIsolationOfTokens(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	_, a, _ := s.CreateTenant(ctx, "a")
	_, b, _ := s.CreateTenant(ctx, "b")
	aTok := mustAuth(t, s, a.Token)
	if _, err := s.LookupToken(ctx, "a", b.Info.Accessor); !fault.Is(err, fault.TokenNotFound) {
		t.Fatalf("lookup across tenants: %v", err)
	}
	if err := s.RevokeToken(ctx, "a", b.Info.Accessor); !fault.Is(err, fault.TokenNotFound) {
		t.Fatalf("revoke across tenants: %v", err)
	}
	mustAuth(t, s, b.Token)
	if err := s.Authorize(ctx, aTok, "b", "keys.read", "k"); !fault.Is(err, fault.PermissionDenied) {
		t.Fatalf("authorize across tenants: %v", err)
	}
	if _, err := s.CreateToken(ctx, aTok, "nope", TokenRequest{Policies: []string{AdminPolicy}}); !fault.Is(err, fault.TenantNotFound) {
		t.Fatalf("token in unknown tenant: %v", err)
	}
}

func TestPoliciesDecide(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	_, admin, _ := s.CreateTenant(ctx, "acme")
	adminTok := mustAuth(t, s, admin.Token)
	if _, err := s.PutPolicy(ctx, rootToken, "acme", Policy{Name: "orders", Rules: []Rule{{Operations: []string{"encrypt", "decrypt"}, Objects: []string{"orders-*"}}}}); err != nil {
		t.Fatal(err)
	}
	app, err := s.CreateToken(ctx, adminTok, "acme", TokenRequest{Policies: []string{"orders"}})
	if err != nil {
		t.Fatal(err)
	}
	appTok := mustAuth(t, s, app.Token)
	for _, tc := range []struct {
		op, object string
		ok         bool
	}{
		{"encrypt", "orders-2026", true},
		{"decrypt", "orders-x", true},
		{"encrypt", "payroll", false},
		{"keys.read", "orders-2026", false},
	} {
		err := s.Authorize(ctx, appTok, "acme", tc.op, tc.object)
		if (err == nil) != tc.ok || (err != nil && !fault.Is(err, fault.PermissionDenied)) {
			t.Errorf("%s %s: %v, want allowed=%v", tc.op, tc.object, err, tc.ok)
		}
	}
	// The app token may not grant what it lacks.
	if _, err := s.CreateToken(ctx, appTok, "acme", TokenRequest{Policies: []string{AdminPolicy}}); !fault.Is(err, fault.PermissionDenied) {
		t.Fatalf("escalation: %v", err)
	}
	if _, err := s.CreateToken(ctx, adminTok, "acme", TokenRequest{Policies: []string{RootPolicy}}); !fault.Is(err, fault.PermissionDenied) {
		t.Fatalf("root policy grant: %v", err)
	}
	// Deleting the policy removes the permission.
	if err := s.DeletePolicy(ctx, "acme", "orders"); err != nil {
		t.Fatal(err)
	}
	if err := s.Authorize(ctx, appTok, "acme", "encrypt", "orders-1"); !fault.Is(err, fault.PermissionDenied) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestPolicyValidation(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	for name, p := range map[string]Policy{
		"bad name":        {Name: "Bad Name", Rules: []Rule{{Operations: []string{"encrypt"}, Objects: []string{"*"}}}},
		"reserved":        {Name: AdminPolicy, Rules: []Rule{{Operations: []string{"encrypt"}, Objects: []string{"*"}}}},
		"no rules":        {Name: "p"},
		"empty ops":       {Name: "p", Rules: []Rule{{Objects: []string{"*"}}}},
		"typo op":         {Name: "p", Rules: []Rule{{Operations: []string{"encrpyt"}, Objects: []string{"*"}}}},
		"malformed glob":  {Name: "p", Rules: []Rule{{Operations: []string{"encrypt"}, Objects: []string{"["}}}},
		"unknown pattern": {Name: "p", Rules: []Rule{{Operations: []string{"zzz*"}, Objects: []string{"*"}}}},
	} {
		if _, err := s.PutPolicy(ctx, rootToken, DefaultTenant, p); !fault.Is(err, fault.InvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if names, _ := s.ListPolicies(ctx, DefaultTenant); len(names) != 0 {
		t.Fatalf("rejected policies were stored: %v", names)
	}
	if _, err := s.PutPolicy(ctx, rootToken, DefaultTenant, Policy{Name: "readers", Rules: []Rule{{Operations: []string{"keys.*"}, Objects: []string{"*"}}}}); err != nil {
		t.Fatal(err)
	}
}

func TestCreateTokenRules(t *testing.T) {
	s, c, root := newService(t)
	ctx := context.Background()
	rootTok := mustAuth(t, s, root.Token)
	for name, req := range map[string]TokenRequest{
		"no policies":    {},
		"negative ttl":   {Policies: []string{AdminPolicy}, TTL: -time.Second},
		"ttl too long":   {Policies: []string{AdminPolicy}, TTL: MaxTTL + time.Hour},
		"missing policy": {Policies: []string{"ghost"}},
	} {
		if _, err := s.CreateToken(ctx, rootTok, DefaultTenant, req); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	short, err := s.CreateToken(ctx, rootTok, DefaultTenant, TokenRequest{Policies: []string{AdminPolicy}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	long, err := s.CreateToken(ctx, mustAuth(t, s, short.Token), DefaultTenant, TokenRequest{Policies: []string{AdminPolicy}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !long.Info.ExpiresAt.Equal(short.Info.ExpiresAt) {
		t.Fatalf("child outlives parent: %v > %v", long.Info.ExpiresAt, short.Info.ExpiresAt)
	}
	if def, _ := s.CreateToken(ctx, rootTok, DefaultTenant, TokenRequest{Policies: []string{AdminPolicy}}); !def.Info.ExpiresAt.Equal(c.t.Add(DefaultTTL)) {
		t.Fatalf("default ttl: %v", def.Info.ExpiresAt)
	}
}

func TestCreateTenantRules(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	if _, _, err := s.CreateTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateTenant(ctx, "acme"); !fault.Is(err, fault.AlreadyExists) {
		t.Fatalf("duplicate tenant: %v", err)
	}
	for _, bad := range []string{"", "Acme", "a/b", strings.Repeat("a", 64), "-x"} {
		if _, _, err := s.CreateTenant(ctx, bad); !fault.Is(err, fault.InvalidArgument) {
			t.Errorf("tenant %q: %v", bad, err)
		}
	}
	list, err := s.ListTenants(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "acme" || list[1].Name != DefaultTenant {
		t.Fatalf("tenants: %+v, %v", list, err)
	}
	if gone, err := s.DeletedTenants(ctx); err != nil || len(gone) != 0 {
		t.Fatalf("deleted tenants before any deletion: %+v, %v", gone, err)
	}
	if err := s.DeleteTenant(ctx, "acme", func(context.Context, string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	list, err = s.ListTenants(ctx)
	if err != nil || len(list) != 1 || list[0].Name != DefaultTenant {
		t.Fatalf("tenants after deleting acme: %+v, %v", list, err)
	}
	gone, err := s.DeletedTenants(ctx)
	if err != nil || len(gone) != 1 || gone[0].Name != "acme" || gone[0].DeletedAt.IsZero() {
		t.Fatalf("deleted tenants: %+v, %v", gone, err)
	}
}

func TestSecretNotStored(t *testing.T) {
	store := inmem.New()
	s := unsealed(store)
	root, err := s.Bootstrap(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	secret := root.Token[strings.LastIndexByte(root.Token, '.')+1:]
	keys, _ := store.List(context.Background(), "", "", 0)
	for _, k := range keys {
		v, _ := store.Get(context.Background(), k)
		if strings.Contains(string(v), secret) {
			t.Fatalf("token secret stored in clear at %s", k)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	s := unsealed(inmem.New())
	root, err := s.Bootstrap(context.Background(), 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Authenticate(context.Background(), root.Token); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add("mima.AAAAAAAAAAAAAAAA." + strings.Repeat("A", 43))
	f.Add("mima..")
	f.Add("")
	f.Add("mima.abc.def")
	f.Fuzz(func(t *testing.T, s string) {
		acc, secret, ok := parseToken(s)
		if !ok {
			return
		}
		if tokenScheme+acc+"."+b64.EncodeToString(secret) != s {
			t.Fatalf("%q parsed to a different token", s)
		}
	})
}

// allOnes is a randomness source of 0xf8 bytes, whose base64 starts with
// '-' unless issue guards against it.
type allOnes struct{}

func (allOnes) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xf8
	}
	return len(p), nil
}

// TestAccessorsAreNotFlags checks that an accessor never starts with '-',
// which the CLI would take for a flag.
func TestAccessorsAreNotFlags(t *testing.T) {
	s := unsealed(inmem.New(), WithRand(allOnes{}))
	root, err := s.Bootstrap(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(root.Info.Accessor, "-") {
		t.Fatalf("accessor %q starts with '-'", root.Info.Accessor)
	}
	if a := staticAccessor("x"); strings.HasPrefix(a, "-") || strings.HasPrefix(a, "_") {
		t.Fatalf("static accessor %q", a)
	}
}

// rootToken writes the policies of the tests that are not about who may
// write them.
var rootToken = &Token{Root: true}
