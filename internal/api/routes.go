package api

// allRoutes is the table of every endpoint. internal/api/openapi.yaml
// describes the same set, and tests hold the two in step.
func (s *Server) allRoutes() []route {
	return []route{
		{method: "GET", pattern: "/v1/sys/health", op: "sys.health", scope: scopePublic, sealed: true, unaudited: true, handle: s.health},
		{method: "GET", pattern: "/v1/sys/openapi.yaml", op: "sys.openapi", scope: scopePublic, sealed: true, unaudited: true, handle: s.openAPI},
		{method: "POST", pattern: "/v1/sys/init", op: "sys.init", scope: scopePublic, sealed: true, handle: s.initialize},
		{method: "POST", pattern: "/v1/sys/unseal", op: "sys.unseal", scope: scopePublic, sealed: true, handle: s.unseal},
		{method: "POST", pattern: "/v1/sys/seal", op: "sys.seal", scope: scopeSystem, handle: s.seal},
		{method: "POST", pattern: "/v1/sys/rotate", op: "sys.rotate", scope: scopeSystem, handle: s.rotate},
		{method: "GET", pattern: "/v1/sys/key-status", op: "sys.key-status", scope: scopeSystem, handle: s.keyStatus},

		{method: "POST", pattern: "/v1/tenants", op: "tenants.create", scope: scopeSystem, handle: s.createTenant},
		{method: "GET", pattern: "/v1/tenants", op: "tenants.list", scope: scopeSystem, handle: s.listTenants},

		{method: "GET", pattern: "/v1/tokens/self", op: "tokens.self", scope: scopeSelf, handle: s.lookupSelf},
		{method: "POST", pattern: "/v1/tokens", op: "tokens.create", scope: scopeTenant, handle: s.createToken},
		{method: "GET", pattern: "/v1/tokens/{accessor}", op: "tokens.read", scope: scopeTenant, object: "accessor", handle: s.lookupToken},
		{method: "DELETE", pattern: "/v1/tokens/{accessor}", op: "tokens.revoke", scope: scopeTenant, object: "accessor", handle: s.revokeToken},

		{method: "GET", pattern: "/v1/policies", op: "policies.list", scope: scopeTenant, handle: s.listPolicies},
		{method: "PUT", pattern: "/v1/policies/{name}", op: "policies.write", scope: scopeTenant, object: "name", handle: s.putPolicy},
		{method: "GET", pattern: "/v1/policies/{name}", op: "policies.read", scope: scopeTenant, object: "name", handle: s.getPolicy},
		{method: "DELETE", pattern: "/v1/policies/{name}", op: "policies.delete", scope: scopeTenant, object: "name", handle: s.deletePolicy},

		{method: "GET", pattern: "/v1/audit/verify", op: "audit.verify", scope: scopeSystem, handle: s.verifyAudit},
		{method: "GET", pattern: "/v1/audit/export", op: "audit.export", scope: scopeSystem, handle: s.exportAudit},
	}
}
