package api

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/mimacrypto/mima/sdk"
)

// apiToken is the part of a token's JSON these tests read.
type apiToken struct {
	Token    string `json:"token"`
	Accessor string `json:"accessor"`
	Parent   string `json:"parent"`
	Depth    int    `json:"depth"`
}

// createChild creates an admin child of token over the API.
func (n *testNode) createChild(token string) apiToken {
	n.t.Helper()
	r := n.do("POST", "/v1/tokens", token, map[string]any{"policies": []string{"admin"}})
	if r.status != http.StatusCreated {
		n.t.Fatalf("create token: %d %s", r.status, r.body)
	}
	var tok apiToken
	r.json(n.t, &tok)
	return tok
}

// TestTokenParentAndDepth: lookups show where a token stands in its tree,
// and a token 16 deep cannot create a child.
func TestTokenParentAndDepth(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	var self apiToken
	n.do("GET", "/v1/tokens/self", admin, nil).json(t, &self)
	parent, tok := self, apiToken{}
	for depth := 1; depth <= 16; depth++ {
		bearer := admin
		if parent.Token != "" {
			bearer = parent.Token
		}
		tok = n.createChild(bearer)
		if tok.Parent != parent.Accessor || tok.Depth != depth {
			t.Fatalf("token %d deep created as parent %q depth %d, want parent %q", depth, tok.Parent, tok.Depth, parent.Accessor)
		}
		parent = tok
	}
	var got apiToken
	n.do("GET", "/v1/tokens/self", tok.Token, nil).json(t, &got)
	if got.Parent == "" || got.Depth != 16 {
		t.Fatalf("tokens/self of the deepest token: %+v", got)
	}
	n.do("GET", "/v1/tokens/"+tok.Accessor, admin, nil).json(t, &got)
	if got.Parent != tok.Parent || got.Depth != 16 {
		t.Fatalf("lookup of the deepest token: %+v", got)
	}
	r := n.do("POST", "/v1/tokens", tok.Token, map[string]any{"policies": []string{"admin"}})
	if r.status != http.StatusBadRequest || r.errCode() != "token_too_deep" {
		t.Fatalf("child of a token 16 deep: %d %s", r.status, r.body)
	}
}

// TestTokenListPages: GET /v1/tokens pages with limit and after like the
// other lists, and the pages together hold each of the tenant's tokens
// once.
func TestTokenListPages(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	other := n.tenant("other")
	n.createChild(other)
	var self apiToken
	n.do("GET", "/v1/tokens/self", admin, nil).json(t, &self)
	want := []string{self.Accessor}
	for range 6 {
		want = append(want, n.createChild(admin).Accessor)
	}
	slices.Sort(want)
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatalf("paging does not end: %v", got)
		}
		q := url.Values{"limit": {"2"}}
		if after != "" {
			q.Set("after", after)
		}
		r := n.do("GET", "/v1/tokens?"+q.Encode(), admin, nil)
		var page struct {
			Tokens []apiToken `json:"tokens"`
			Next   string     `json:"next"`
		}
		r.json(t, &page)
		if len(page.Tokens) > 2 {
			t.Fatalf("a page of %d tokens with limit 2", len(page.Tokens))
		}
		for _, tok := range page.Tokens {
			got = append(got, tok.Accessor)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages hold %v, want %v", got, want)
	}
	for _, q := range []string{"limit=0x", "limit=-1", "limit=1001", "after=../x"} {
		if r := n.do("GET", "/v1/tokens?"+q, admin, nil); r.status != http.StatusBadRequest || r.errCode() != "invalid_argument" {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}

// TestTokenLookupShowsLastUse: a token never used has no last_used_at;
// once it authenticates, its own lookup and its tenant's lookup show when.
func TestTokenLookupShowsLastUse(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	child := n.createChild(admin)
	var info sdk.TokenInfo
	n.do("GET", "/v1/tokens/"+child.Accessor, admin, nil).json(t, &info)
	if !info.LastUsedAt.IsZero() {
		t.Fatalf("a token never used shows last use %v", info.LastUsedAt)
	}
	used := n.clock.Advance(time.Minute).UTC()
	n.do("GET", "/v1/tokens/self", child.Token, nil).json(t, &info)
	if !info.LastUsedAt.Equal(used) {
		t.Fatalf("tokens/self: last use %v, want %v", info.LastUsedAt, used)
	}
	info = sdk.TokenInfo{}
	n.do("GET", "/v1/tokens/"+child.Accessor, admin, nil).json(t, &info)
	if !info.LastUsedAt.Equal(used) {
		t.Fatalf("lookup: last use %v, want %v", info.LastUsedAt, used)
	}
}
