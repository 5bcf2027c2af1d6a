package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/api"
	"github.com/mimacrypto/mima/internal/compliance"
	"github.com/mimacrypto/mima/sdk"
)

func (c *Console) routes() {
	c.handle("POST /ui/logout", "Sign out", c.logout)
	c.handle("POST /ui/tenant", "Tenant", c.switchTenant)
	c.handle("GET /ui/status", "Status", statusPage)
	c.handle("GET /ui/tenants", "Tenants", tenantsPage)
	c.handle("POST /ui/tenants", "Tenants", createTenant)
	c.handle("GET /ui/keys", "Keys", keysPage)
	c.handle("POST /ui/keys", "Keys", createKey)
	c.handle("GET /ui/keys/{name}", "Key", keyPage)
	c.handle("POST /ui/keys/{name}/{action}", "Keys", keyAction)
	c.handle("GET /ui/certs", "Certificates", certsPage)
	c.handle("POST /ui/certs/{serial}/revoke", "Certificates", revokeCert)
	c.handle("GET /ui/tsas", "TSAs", tsasPage)
	c.handle("GET /ui/tokens", "Tokens", tokensPage)
	c.handle("POST /ui/tokens", "Tokens", createToken)
	c.handle("POST /ui/tokens/{accessor}/revoke", "Tokens", revokeToken)
	c.handle("GET /ui/policies", "Policies", policiesPage)
	c.handle("GET /ui/policies/{name}", "Policy", policyPage)
	c.handle("POST /ui/policies/{name}", "Policy", savePolicy)
	c.handle("GET /ui/audit", "Audit", auditPage)
	c.handle("GET /ui/usage", "Usage", usagePage)
	c.handle("GET /ui/compliance", "Compliance", c.compliancePage)
	c.handle("GET /ui/v2x", "V2X", v2xPage)
	c.mux.HandleFunc("GET /ui/usage.json", c.usageJSON)
	c.mux.HandleFunc("GET /ui/compliance.json", c.complianceJSON)
}

func (c *Console) logout(q *req) ([]section, error) {
	c.sessions.end(q.id)
	setCookie(q.w, q.r, cookieName, "", -1)
	return nil, redirectTo("/ui/login")
}

func (c *Console) switchTenant(q *req) ([]section, error) {
	c.sessions.setTenant(q.id, q.r.PostFormValue("tenant"))
	return nil, done("/ui/status", "tenant switched")
}

func kv(rows ...[2]string) *table {
	t := &table{Head: []string{"Item", "Value"}}
	for _, r := range rows {
		t.Rows = append(t.Rows, []cell{{Text: r[0]}, {Text: r[1]}})
	}
	return t
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func statusPage(q *req) ([]section, error) {
	h, err := q.api.Health(q.ctx())
	if err != nil {
		return nil, err
	}
	secs := []section{{Title: "Seal status", Table: kv(
		[2]string{"Initialized", strconv.FormatBool(h.Initialized)},
		[2]string{"Sealed", strconv.FormatBool(h.Sealed)},
		[2]string{"Key shares", fmt.Sprintf("%d (threshold %d)", h.Shares, h.Threshold)},
		[2]string{"Unseal progress", fmt.Sprintf("%d/%d", h.Progress, h.Threshold)},
		[2]string{"Unattended unseal", strconv.FormatBool(h.Unattended)},
		[2]string{"Cluster ID", h.ClusterID},
		[2]string{"Version", h.Version},
	)}}
	if q.sess.root {
		if ks, err := q.api.KeyStatus(q.ctx()); err == nil {
			secs = append(secs, section{Title: "Barrier keyring", Table: kv(
				[2]string{"Term", strconv.Itoa(int(ks.Term))}, [2]string{"Installed", when(ks.InstallTime)})})
		}
		tenants, err := q.api.ListTenants(q.ctx())
		if err != nil {
			return nil, err
		}
		opts := make([]string, len(tenants))
		for i, t := range tenants {
			opts[i] = t.Name
		}
		secs = append(secs, section{Title: "Acting in tenant", Form: &form{Action: "/ui/tenant", Method: "POST", Submit: "Switch",
			Fields: []field{{Name: "tenant", Label: "Tenant", Type: "select", Value: q.sess.tenant, Options: opts}}}})
	}
	return secs, nil
}

func tenantsPage(q *req) ([]section, error) {
	tenants, err := q.api.ListTenants(q.ctx())
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Name", "Created"}}
	for _, tn := range tenants {
		t.Rows = append(t.Rows, []cell{{Text: tn.Name}, {Text: when(tn.CreatedAt)}})
	}
	return []section{{Title: "Tenants", Table: t}, {Title: "Create a tenant", Form: &form{Action: "/ui/tenants", Method: "POST", Submit: "Create",
		Fields: []field{{Name: "name", Label: "Name", Type: "text"}}}}}, nil
}

func createTenant(q *req) ([]section, error) {
	res, err := q.api.CreateTenant(q.ctx(), q.r.PostFormValue("name"))
	if err != nil {
		secs, _ := tenantsPage(q)
		return secs, err
	}
	return []section{{Title: "Tenant created", Note: "The admin token of the tenant is shown once; hand it over now.",
		Pre: res.Token}}, nil
}

// keyTypes are the types the create form offers.
var keyTypes = []string{"sm4", "sm2", "hmac-sm3"}

func keysPage(q *req) ([]section, error) {
	f := q.r.URL.Query()
	opts := sdk.ListKeysOptions{After: f.Get("after"), Limit: 20, Type: f.Get("type"), State: f.Get("state")}
	if tag := f.Get("tag"); tag != "" {
		opts.Tags = []string{tag}
	}
	page, err := q.api.ListKeys(q.ctx(), opts)
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Name", "Type", "State", "Version", "Next rotation", "Actions"}}
	for _, k := range page.Keys {
		base := "/ui/keys/" + url.PathEscape(k.Name)
		acts := []action{{base + "/rotate", "Rotate"}}
		switch k.State {
		case "enabled":
			acts = append(acts, action{base + "/disable", "Disable"}, action{base + "/delete", "Schedule deletion"})
		case "disabled":
			acts = append(acts, action{base + "/enable", "Enable"}, action{base + "/delete", "Schedule deletion"})
		case "pending_deletion":
			acts = []action{{base + "/cancel-delete", "Cancel deletion"}}
		}
		next := "—"
		if k.NextRotation != nil {
			next = when(*k.NextRotation)
		}
		t.Rows = append(t.Rows, []cell{{Text: k.Name, Href: base}, {Text: k.Type}, {Text: k.State}, {Text: strconv.Itoa(k.LatestVersion)}, {Text: next}, {Actions: acts}})
	}
	secs := []section{
		{Title: "Search", Form: &form{Action: "/ui/keys", Method: "GET", Submit: "Search", Fields: []field{
			{Name: "type", Label: "Type", Type: "select", Value: opts.Type, Options: append([]string{""}, keyTypes...)},
			{Name: "state", Label: "State", Type: "select", Value: opts.State, Options: []string{"", "enabled", "disabled", "pending_deletion"}},
			{Name: "tag", Label: "Tag (name=value)", Type: "text", Value: f.Get("tag")},
		}}},
		{Title: "Keys", Table: t},
	}
	if page.Next != "" {
		v := f
		v.Set("after", page.Next)
		secs = append(secs, section{Note: "More keys follow.", Table: &table{Rows: [][]cell{{{Text: "Next page", Href: "/ui/keys?" + v.Encode()}}}}})
	}
	secs = append(secs, section{Title: "Create a key", Form: &form{Action: "/ui/keys", Method: "POST", Submit: "Create", Fields: []field{
		{Name: "name", Label: "Name", Type: "text"},
		{Name: "type", Label: "Type", Type: "select", Options: keyTypes},
		{Name: "auto_rotate_period", Label: "Rotation period (e.g. 2160h)", Type: "text"},
	}}})
	return secs, nil
}

func createKey(q *req) ([]section, error) {
	f := q.r.PostForm
	k, err := q.api.CreateKey(q.ctx(), sdk.CreateKeyRequest{Name: f.Get("name"), Type: f.Get("type"), AutoRotatePeriod: f.Get("auto_rotate_period")})
	if err != nil {
		secs, _ := keysPage(q)
		return secs, err
	}
	return nil, done("/ui/keys", "created key "+k.Name)
}

func keyPage(q *req) ([]section, error) {
	k, err := q.api.GetKey(q.ctx(), q.r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	info := kv([2]string{"Name", k.Name}, [2]string{"Type", k.Type}, [2]string{"State", k.State}, [2]string{"Created", when(k.CreatedAt)},
		[2]string{"Rotation period", k.AutoRotatePeriod}, [2]string{"Minimum decryption version", strconv.Itoa(k.MinDecryptionVersion)})
	if k.DeletionDate != nil {
		info.Rows = append(info.Rows, []cell{{Text: "Deletion date"}, {Text: when(*k.DeletionDate)}})
	}
	vers := &table{Head: []string{"Version", "Created", "Imported", "Encryptions"}}
	for _, v := range k.Versions {
		vers.Rows = append(vers.Rows, []cell{{Text: strconv.Itoa(v.Version)}, {Text: when(v.CreatedAt)}, {Text: strconv.FormatBool(v.Imported)}, {Text: strconv.FormatUint(v.Encryptions, 10)}})
	}
	return []section{{Title: "Key", Table: info}, {Title: "Versions", Table: vers},
		{Title: "Usage", Chart: &chart{Src: "/ui/usage.json?by=key&only=" + url.QueryEscape(k.Name), Label: "Calls per minute"}}}, nil
}

func keyAction(q *req) ([]section, error) {
	name, ctx := q.r.PathValue("name"), q.ctx()
	var err error
	switch a := q.r.PathValue("action"); a {
	case "rotate":
		_, err = q.api.RotateKey(ctx, name)
	case "disable":
		_, err = q.api.DisableKey(ctx, name)
	case "enable":
		_, err = q.api.EnableKey(ctx, name)
	case "delete":
		_, err = q.api.ScheduleKeyDeletion(ctx, name, 0)
	case "cancel-delete":
		_, err = q.api.CancelKeyDeletion(ctx, name)
	default:
		return nil, &sdk.Error{Status: http.StatusNotFound, Code: "route_not_found", Message: "no such key action: " + a}
	}
	if err != nil {
		return nil, err
	}
	return nil, done("/ui/keys", q.r.PathValue("action")+" "+name)
}

func certsPage(q *req) ([]section, error) {
	f := q.r.URL.Query()
	cq := sdk.CertificatesQuery{State: f.Get("state"), CA: f.Get("ca"), After: f.Get("after"), Limit: 50}
	if f.Get("expiring") != "" {
		cq.State, cq.ExpiresBefore = "valid", time.Now().Add(compliance.ExpiryWindow)
	}
	page, err := q.api.ListCertificates(q.ctx(), cq)
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Serial", "CA", "Subject", "Not after", "State", "Actions"}}
	for _, ct := range page.Certificates {
		var acts []action
		if ct.State == "valid" || ct.State == "on_hold" {
			acts = []action{{"/ui/certs/" + url.PathEscape(ct.Serial) + "/revoke", "Revoke"}}
		}
		t.Rows = append(t.Rows, []cell{{Text: ct.Serial}, {Text: ct.CA}, {Text: ct.Subject}, {Text: when(ct.NotAfter)}, {Text: ct.State}, {Actions: acts}})
	}
	cas, err := q.api.ListCAs(q.ctx())
	if err != nil {
		return nil, err
	}
	ct := &table{Head: []string{"CA", "Type", "State", "Subject", "Not after", "CRL"}}
	for _, ca := range cas {
		ct.Rows = append(ct.Rows, []cell{{Text: ca.Name}, {Text: ca.Type}, {Text: ca.State}, {Text: ca.Subject}, {Text: when(ca.NotAfter)},
			{Text: "CRL (PEM)", Href: "/v1/pki/" + url.PathEscape(q.sess.tenant) + "/ca/" + url.PathEscape(ca.Name) + "/crl.pem"}})
	}
	return []section{
		{Title: "Certificate authorities", Note: "CRLs and OCSP are served without a token to relying parties.", Table: ct},
		{Title: "Search", Form: &form{Action: "/ui/certs", Method: "GET", Submit: "Search", Fields: []field{
			{Name: "state", Label: "State", Type: "select", Value: cq.State, Options: []string{"", "valid", "revoked", "on_hold", "expired"}},
			{Name: "expiring", Label: "Expiring within 30 days", Type: "checkbox", Value: f.Get("expiring")},
		}}},
		{Title: "Certificates", Table: t},
	}, nil
}

func revokeCert(q *req) ([]section, error) {
	serial := q.r.PathValue("serial")
	if _, err := q.api.RevokeCertificate(q.ctx(), serial, "unspecified"); err != nil {
		return nil, err
	}
	return nil, done("/ui/certs", "revoked "+serial)
}

func tsasPage(q *req) ([]section, error) {
	var list struct {
		TSAs []sdk.TSA `json:"tsas"`
	}
	if err := q.getJSON("/v1/tsas", &list); err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Name", "CA", "Key", "Policy", "Accuracy", "Created"}}
	for _, s := range list.TSAs {
		t.Rows = append(t.Rows, []cell{{Text: s.Name}, {Text: s.CA}, {Text: s.Key}, {Text: s.Policy}, {Text: s.Accuracy}, {Text: when(s.CreatedAt)}})
	}
	return []section{{Title: "Timestamp authorities", Table: t}}, nil
}

func tokensPage(q *req) ([]section, error) {
	t := &table{Head: []string{"Accessor", "Name", "Policies", "Created", "Expires", "Actions"}}
	for tok, err := range q.api.AllTokens(q.ctx()) {
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
	tok, err := q.api.CreateToken(q.ctx(), sdk.TokenRequest{Policies: pols, TTL: f.Get("ttl"), DisplayName: f.Get("display_name")})
	if err != nil {
		secs, _ := tokensPage(q)
		return secs, err
	}
	return []section{{Title: "Token created", Note: "The token is shown once; copy it now. Accessor: " + tok.Accessor, Pre: tok.Token}}, nil
}

func revokeToken(q *req) ([]section, error) {
	acc := q.r.PathValue("accessor")
	if err := q.api.RevokeToken(q.ctx(), acc); err != nil {
		return nil, err
	}
	return nil, done("/ui/tokens", "revoked "+acc)
}

func policiesPage(q *req) ([]section, error) {
	names, err := q.api.ListPolicies(q.ctx())
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Policy"}}
	for _, n := range names {
		t.Rows = append(t.Rows, []cell{{Text: n, Href: "/ui/policies/" + url.PathEscape(n)}})
	}
	return []section{{Title: "Policies", Table: t}, {Title: "New policy", Form: &form{Action: "/ui/policies/new", Method: "GET", Submit: "Edit",
		Fields: []field{{Name: "name", Label: "Name", Type: "text"}}}}}, nil
}

// policyPage is the policy editor: the rules as JSON, and every operation
// with the objects the rules grant it on.
func policyPage(q *req) ([]section, error) {
	name := q.r.PathValue("name")
	if name == "new" {
		name = q.r.URL.Query().Get("name")
	}
	p, err := q.api.GetPolicy(q.ctx(), name)
	if sdk.ErrorCode(err) == "policy_not_found" || sdk.ErrorCode(err) == "not_found" {
		p, err = sdk.Policy{Name: name, Rules: []sdk.Rule{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return policyEditor(p), nil
}

func policyEditor(p sdk.Policy) []section {
	rules, _ := json.MarshalIndent(p.Rules, "", "  ")
	return []section{
		{Title: "Policy " + p.Name, Note: "Rules are JSON: [{\"operations\": [\"encrypt\"], \"objects\": [\"orders-*\"]}]; patterns are globs.",
			Form: &form{Action: "/ui/policies/" + url.PathEscape(p.Name), Method: "POST", Submit: "Save",
				Fields: []field{{Name: "rules", Label: "Rules", Type: "textarea", Value: string(rules), Rows: 12}}}},
		{Title: "What this policy grants", Table: grants(p.Rules)},
	}
}

// grants lists each operation a policy may name with the object patterns
// its rules grant it on (the glob syntax of the authn package).
func grants(rules []sdk.Rule) *table {
	t := &table{Head: []string{"Operation", "Objects"}}
	for _, op := range api.Operations() {
		var objs []string
		for _, r := range rules {
			for _, pat := range r.Operations {
				if ok, _ := path.Match(pat, op); ok {
					objs = append(objs, r.Objects...)
					break
				}
			}
		}
		if len(objs) > 0 {
			t.Rows = append(t.Rows, []cell{{Text: op}, {Text: strings.Join(objs, ", ")}})
		}
	}
	return t
}

func savePolicy(q *req) ([]section, error) {
	name := q.r.PathValue("name")
	var rules []sdk.Rule
	if err := json.Unmarshal([]byte(q.r.PostFormValue("rules")), &rules); err != nil {
		return policyEditor(sdk.Policy{Name: name}), &sdk.Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "the rules are not valid JSON: " + err.Error()}
	}
	if _, err := q.api.PutPolicy(q.ctx(), name, rules); err != nil {
		return policyEditor(sdk.Policy{Name: name, Rules: rules}), err
	}
	return nil, done("/ui/policies/"+url.PathEscape(name), "saved")
}
