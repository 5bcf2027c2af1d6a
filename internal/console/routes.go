package console

// routes registers the signed-in pages and actions, grouped as the files are.
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
