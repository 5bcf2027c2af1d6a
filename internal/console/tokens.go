package console

import (
	"net/url"
	"strings"

	"github.com/mimacrypto/mima/sdk"
)

func tokensPage(q *req) ([]section, error) {
	t := &table{Head: []string{"Accessor", "Name", "Policies", "Created", "Expires", "Actions"}}
	for tok, err := range q.api.Auth().AllTokens(q.ctx()) {
		if err != nil {
			return nil, err
		}
		var acts []action
		if tok.RevokedAt.IsZero() {
			acts = []action{{"/ui/tokens/" + url.PathEscape(tok.Accessor) + "/revoke", "Revoke"}}
		}
		t.Rows = append(t.Rows, []cell{{Text: tok.Accessor}, {Text: tok.DisplayName}, {Text: strings.Join(tok.Policies, ", ")}, {Text: when(tok.CreatedAt)}, {Text: when(tok.ExpiresAt)}, {Actions: acts}})
	}
	return []section{{Title: "Tokens", Table: t}, {Title: "Create a token", Form: &form{Action: "/ui/tokens", Method: "POST", Submit: "Create", Fields: []field{
		{Name: "policies", Label: "Policies (comma-separated)", Type: "text"},
		{Name: "ttl", Label: "Time to live (e.g. 24h)", Type: "text"},
		{Name: "display_name", Label: "Name", Type: "text"},
	}}}}, nil
}

func createToken(q *req) ([]section, error) {
	f := q.r.PostForm
	var pols []string
	for _, p := range strings.Split(f.Get("policies"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			pols = append(pols, p)
		}
	}
	tok, err := q.api.Auth().CreateToken(q.ctx(), sdk.TokenRequest{Policies: pols, TTL: f.Get("ttl"), DisplayName: f.Get("display_name")})
	if err != nil {
		secs, _ := tokensPage(q)
		return secs, err
	}
	return []section{{Title: "Token created", Note: "The token is shown once; copy it now. Accessor: " + tok.Accessor, Pre: tok.Token}}, nil
}

func revokeToken(q *req) ([]section, error) {
	acc := q.r.PathValue("accessor")
	if err := q.api.Auth().RevokeToken(q.ctx(), acc); err != nil {
		return nil, err
	}
	return nil, done("/ui/tokens", "revoked "+acc)
}
