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

		{method: "POST", pattern: "/v1/keys", op: "keys.create", scope: scopeTenant, bodyObject: true, handle: s.createKey},
		{method: "GET", pattern: "/v1/keys", op: "keys.list", scope: scopeTenant, handle: s.listKeys},
		{method: "GET", pattern: "/v1/keys/{name}", op: "keys.read", scope: scopeTenant, object: "name", handle: s.getKey},
		{method: "DELETE", pattern: "/v1/keys/{name}", op: "keys.delete", scope: scopeTenant, object: "name", handle: s.deleteKey},
		{method: "POST", pattern: "/v1/keys/{name}/cancel-delete", op: "keys.cancel-delete", scope: scopeTenant, object: "name", handle: s.cancelKeyDeletion},
		{method: "POST", pattern: "/v1/keys/{name}/rotate", op: "keys.rotate", scope: scopeTenant, object: "name", handle: s.rotateKey},
		{method: "POST", pattern: "/v1/keys/{name}/config", op: "keys.config", scope: scopeTenant, object: "name", handle: s.configureKey},
		{method: "POST", pattern: "/v1/keys/{name}/enable", op: "keys.enable", scope: scopeTenant, object: "name", handle: s.enableKey},
		{method: "POST", pattern: "/v1/keys/{name}/disable", op: "keys.disable", scope: scopeTenant, object: "name", handle: s.disableKey},
		{method: "GET", pattern: "/v1/keys/{name}/import-params", op: "keys.import", scope: scopeTenant, object: "name", handle: s.importParams},
		{method: "POST", pattern: "/v1/keys/{name}/import", op: "keys.import", scope: scopeTenant, object: "name", handle: s.importKey},
		{method: "POST", pattern: "/v1/keys/{name}/export", op: "keys.export", scope: scopeTenant, object: "name", handle: s.exportKey},
		{method: "POST", pattern: "/v1/keys/{name}/backup", op: "keys.backup", scope: scopeTenant, object: "name", handle: s.backupKey},
		{method: "POST", pattern: "/v1/keys/restore", op: "keys.restore", scope: scopeTenant, bodyObject: true, handle: s.restoreKey},
		{method: "GET", pattern: "/v1/keys/{name}/public", op: "keys.public", scope: scopeTenant, object: "name", handle: s.publicKey},

		{method: "POST", pattern: "/v1/keys/{name}/encrypt", op: "encrypt", scope: scopeTenant, object: "name", handle: s.encrypt},
		{method: "POST", pattern: "/v1/keys/{name}/decrypt", op: "decrypt", scope: scopeTenant, object: "name", handle: s.decrypt},
		{method: "POST", pattern: "/v1/keys/{name}/reencrypt", op: "reencrypt", scope: scopeTenant, object: "name", handle: s.reencrypt},
		{method: "POST", pattern: "/v1/keys/{name}/sign", op: "sign", scope: scopeTenant, object: "name", handle: s.sign},
		{method: "POST", pattern: "/v1/keys/{name}/verify", op: "verify", scope: scopeTenant, object: "name", handle: s.verify},
		{method: "POST", pattern: "/v1/keys/{name}/mac", op: "mac", scope: scopeTenant, object: "name", handle: s.mac},
		{method: "POST", pattern: "/v1/keys/{name}/verify-mac", op: "verify-mac", scope: scopeTenant, object: "name", handle: s.verifyMAC},
		{method: "POST", pattern: "/v1/keys/{name}/datakey", op: "datakey", scope: scopeTenant, object: "name", handle: s.dataKey},
		{method: "POST", pattern: "/v1/keys/{name}/derive", op: "derive", scope: scopeTenant, object: "name", handle: s.derive},
		{method: "POST", pattern: "/v1/hash", op: "hash", scope: scopeTenant, stream: true, handle: s.hash},
		{method: "POST", pattern: "/v1/random", op: "random", scope: scopeTenant, handle: s.random},

		{method: "POST", pattern: "/v1/aliases", op: "aliases.create", scope: scopeTenant, bodyObject: true, handle: s.createAlias},
		{method: "GET", pattern: "/v1/aliases", op: "aliases.list", scope: scopeTenant, handle: s.listAliases},
		{method: "PUT", pattern: "/v1/aliases/{alias}", op: "aliases.update", scope: scopeTenant, object: "alias", handle: s.updateAlias},
		{method: "DELETE", pattern: "/v1/aliases/{alias}", op: "aliases.delete", scope: scopeTenant, object: "alias", handle: s.deleteAlias},

		{method: "GET", pattern: "/v1/audit/verify", op: "audit.verify", scope: scopeSystem, handle: s.verifyAudit},
		{method: "GET", pattern: "/v1/audit/export", op: "audit.export", scope: scopeSystem, handle: s.exportAudit},
	}
}
