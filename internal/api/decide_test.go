package api

import (
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

// TestEveryRouteActsOnlyWhenAudited sends every route's request (tenant
// A's objects, as the isolation cases name them) while the audit log
// fails: each is refused with 503 audit_unavailable and the store is
// byte for byte what it was. Before the fix, key create, rotate and
// token create acted and then answered 503.
func TestEveryRouteActsOnlyWhenAudited(t *testing.T) {
	n := newTestNode(t)
	tokA, fx := isolationFixture(t, n)
	cases := isolationCases(fx)
	n.auditFails.Store(true)
	defer n.auditFails.Store(false)
	for _, rt := range n.api.routes {
		key := rt.method + " " + rt.pattern
		tc, ok := cases[key]
		if rt.unaudited || !ok {
			continue
		}
		token := tokA
		if rt.scope == scopeSystem {
			token = n.root
		}
		t.Run(key, func(t *testing.T) {
			before := n.snapshot()
			r := n.do(rt.method, tc.path, token, tc.body, tc.header...)
			if r.status != http.StatusServiceUnavailable || r.errCode() != "audit_unavailable" {
				t.Errorf("with the audit log failing: %d %s", r.status, r.body)
			}
			if after := n.snapshot(); !maps.Equal(before, after) {
				for k := range after {
					if before[k] != after[k] {
						t.Errorf("stored %q changed without an audit record", k)
					}
				}
				for k := range before {
					if _, ok := after[k]; !ok {
						t.Errorf("deleted %q without an audit record", k)
					}
				}
			}
		})
	}
}

// TestBodyObjectsAreDecidedFirst names, for every route that declares
// objects in its body, a forbidden object in each declared field (and in a
// batch item): the token may do anything to "obj" and "allowed-*" and
// nothing to "forbidden-x". Each request is refused with 403 before its
// handler runs, so nothing is stored.
func TestBodyObjectsAreDecidedFirst(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	if r := n.do("PUT", "/v1/policies/most", admin, map[string]any{"rules": []sdk.Rule{{Operations: []string{"*"}, Objects: []string{"obj", "allowed-*"}}}}); r.status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
	var tok sdk.TokenCreated
	n.do("POST", "/v1/tokens", admin, map[string]any{"policies": []string{"most"}}).json(t, &tok)
	// The token's first use records its last use; the requests below
	// must change nothing more.
	n.do("GET", "/v1/tokens/self", tok.Token, nil)
	checked := 0
	for _, rt := range n.api.routes {
		path := objPath(rt.pattern)
		for _, d := range rt.body {
			if d.op == refOnly {
				continue
			}
			bodies := []map[string]any{{d.field: "forbidden-x"}}
			if !d.main {
				bodies = append(bodies, map[string]any{"batch": []map[string]any{{d.field: "allowed-1"}, {d.field: "forbidden-x"}}})
			}
			for _, body := range bodies {
				before := n.snapshot()
				r := n.do(rt.method, path, tok.Token, body)
				if r.status != http.StatusForbidden || r.errCode() != "permission_denied" {
					t.Errorf("%s %s with %v: %d %s", rt.method, rt.pattern, body, r.status, r.body)
				}
				if !maps.Equal(before, n.snapshot()) {
					t.Errorf("%s %s with %v changed the store", rt.method, rt.pattern, body)
				}
				checked++
			}
		}
	}
	if checked < 15 {
		t.Fatalf("only %d body objects checked; the route table declares more", checked)
	}
}

// TestUndeclaredBodyObjectFails registers a route whose handler reads an
// object name from the body without declaring it: the request fails
// instead of acting on an object nobody decided on. Declared, it works.
func TestUndeclaredBodyObjectFails(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	handle := echoKey
	n.api.register(&route{method: "POST", pattern: "/v1/test/undeclared", op: "keys.read", scope: scopeTenant, handle: handle})
	n.api.register(&route{method: "POST", pattern: "/v1/test/declared", op: "keys.read", scope: scopeTenant,
		body: []bodyObject{{field: "key", main: true}}, handle: handle})
	if r := n.do("POST", "/v1/test/undeclared", admin, map[string]string{"key": "other"}); r.status != http.StatusInternalServerError {
		t.Fatalf("undeclared object: %d %s", r.status, r.body)
	}
	if r := n.do("POST", "/v1/test/declared", admin, map[string]string{"key": "other"}); r.status != http.StatusOK {
		t.Fatalf("declared object: %d %s", r.status, r.body)
	}
}

// TestAliasCannotReachForeignKey is the confused deputy of issue 12: a
// token allowed decrypt on alias:app-* and to create such aliases points
// one at a key it may not use, and would decrypt that key's data.
func TestAliasCannotReachForeignKey(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	n.do("POST", "/v1/keys", admin, map[string]string{"name": "payroll", "type": "sm4"})
	n.do("POST", "/v1/keys", admin, map[string]string{"name": "app-data", "type": "sm4"})
	var enc sdk.EncryptResult
	n.do("POST", "/v1/keys/payroll/encrypt", admin, map[string]string{"plaintext": "c2FsYXJ5"}).json(t, &enc)
	n.do("PUT", "/v1/policies/app", admin, map[string]any{"rules": []sdk.Rule{
		{Operations: []string{"decrypt", "aliases.create", "aliases.update"}, Objects: []string{"alias:app-*"}},
		{Operations: []string{"decrypt"}, Objects: []string{"app-*"}},
	}})
	var app sdk.TokenCreated
	n.do("POST", "/v1/tokens", admin, map[string]any{"policies": []string{"app"}}).json(t, &app)

	if r := n.do("POST", "/v1/aliases", app.Token, map[string]string{"name": "alias:app-x", "target": "payroll"}); r.status != http.StatusForbidden {
		t.Fatalf("alias at a key the token may not decrypt with: %d %s", r.status, r.body)
	}
	if r := n.do("POST", "/v1/keys/alias:app-x/decrypt", app.Token, map[string]string{"ciphertext": enc.Ciphertext}); r.status == http.StatusOK {
		t.Fatalf("decrypted payroll's data through an alias: %s", r.body)
	}
	// An alias at a key the token may already use is fine, and moving it
	// to the forbidden key is refused as creating it was.
	if r := n.do("POST", "/v1/aliases", app.Token, map[string]string{"name": "alias:app-y", "target": "app-data"}); r.status != http.StatusCreated {
		t.Fatalf("alias at the token's own key: %d %s", r.status, r.body)
	}
	if r := n.do("PUT", "/v1/aliases/alias:app-y", app.Token, map[string]string{"target": "payroll"}); r.status != http.StatusForbidden {
		t.Fatalf("moving the alias to a foreign key: %d %s", r.status, r.body)
	}
}

// objPath is a route pattern with every wildcard naming the object "obj".
func objPath(pattern string) string {
	for _, w := range wildcards(pattern) {
		pattern = strings.Replace(pattern, "{"+w+"}", "obj", 1)
		pattern = strings.Replace(pattern, "{"+w+"...}", "obj", 1)
	}
	return pattern
}

// echoKey is a handler that reads an object name from the body's "key"
// and answers it, for routes registered by tests.
func echoKey(c *call) (any, error) {
	var req struct {
		Key string `json:"key"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return map[string]string{"used": req.Key}, nil
}
