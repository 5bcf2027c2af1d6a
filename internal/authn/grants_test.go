package authn

import (
	"context"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
)

// TestPolicyWriterCannotWiden is issue 12's escalation: a token allowed
// policies.write and encrypt on a-* rewrites its own policy a-self to
// "*" on "*" and becomes a tenant admin. A writer may grant only what it
// already holds.
func TestPolicyWriterCannotWiden(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t)
	s.ops["policies.write"] = true
	if _, err := s.PutPolicy(ctx, rootToken, DefaultTenant, Policy{Name: "a-self", Rules: []Rule{{Operations: []string{"policies.write", "encrypt"}, Objects: []string{"a-*"}}}}); err != nil {
		t.Fatal(err)
	}
	writer := &Token{Tenant: DefaultTenant, Policies: []string{"a-self"}}
	refused := []Rule{
		{Operations: []string{"*"}, Objects: []string{"*"}},
		{Operations: []string{"encrypt"}, Objects: []string{"*"}},
		{Operations: []string{"decrypt"}, Objects: []string{"a-x"}},
		{Operations: []string{"encrypt"}, Objects: []string{"b-*"}},
		{Operations: []string{"encrypt"}, Objects: []string{"a-*/x"}},
		{Operations: []string{"encrypt"}, Objects: []string{"a[bc]*"}},
		{Operations: []string{"encrypt", "keys.read"}, Objects: []string{"a-1"}},
	}
	for _, r := range refused {
		if _, err := s.PutPolicy(ctx, writer, DefaultTenant, Policy{Name: "a-self", Rules: []Rule{r}}); !fault.Is(err, fault.PermissionDenied) {
			t.Errorf("writer of a-* granted %v: %v", r, err)
		}
	}
	p, err := s.Policy(ctx, DefaultTenant, "a-self")
	if err != nil || len(p.Rules) != 1 || p.Rules[0].Operations[1] != "encrypt" {
		t.Fatalf("a refused write changed the policy: %+v %v", p, err)
	}
	allowed := []Rule{
		{Operations: []string{"encrypt"}, Objects: []string{"a-*"}},
		{Operations: []string{"encrypt"}, Objects: []string{"a-orders-*", "a-x"}},
		{Operations: []string{"enc*"}, Objects: []string{"a-?"}},
		{Operations: []string{"policies.write"}, Objects: []string{"a-child"}},
	}
	for _, r := range allowed {
		if _, err := s.PutPolicy(ctx, writer, DefaultTenant, Policy{Name: "a-child", Rules: []Rule{r}}); err != nil {
			t.Errorf("writer of a-* refused %v: %v", r, err)
		}
	}
	admin := &Token{Tenant: DefaultTenant, Policies: []string{AdminPolicy}}
	if _, err := s.PutPolicy(ctx, admin, DefaultTenant, Policy{Name: "all", Rules: []Rule{{Operations: []string{"*"}, Objects: []string{"*"}}}}); err != nil {
		t.Fatalf("an admin writes any policy: %v", err)
	}
}

func TestCovers(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"*", "anything", true},
		{"*", "a*", true},
		{"*", "a/b", false},
		{"a-*", "a-b-*", true},
		{"a-*", "a-?", true},
		{"a-*", "b-*", false},
		{"a-*", "a*", false},
		{"a-*", "a-[xy]", false},
		{"a-?", "a-*", false},
		{"a-[xy]", "a-[xy]", true},
		{"a-[xy]", "a-x", true},
		{"a-[xy]", "a-z", false},
	} {
		if got := covers(tc.a, tc.b); got != tc.want {
			t.Errorf("covers(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
