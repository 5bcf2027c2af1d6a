package api

// signerObjects are the objects a CMS signing request names: the signing
// key, and the TSA that timestamps the signature.
var signerObjects = []bodyObject{{field: "key", main: true}, {field: "tsa", op: "tsa.stamp"}}

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
		// Generate-root needs no token (the root token may be lost): a
		// quorum of key shares is the authority.
		{method: "GET", pattern: "/v1/sys/generate-root/attempt", op: "sys.generate-root.status", scope: scopePublic, handle: s.generateRootStatus},
		{method: "POST", pattern: "/v1/sys/generate-root/attempt", op: "sys.generate-root.start", scope: scopePublic, handle: s.startGenerateRoot},
		{method: "DELETE", pattern: "/v1/sys/generate-root/attempt", op: "sys.generate-root.cancel", scope: scopePublic, handle: s.cancelGenerateRoot},
		{method: "POST", pattern: "/v1/sys/generate-root/update", op: "sys.generate-root.update", scope: scopePublic, handle: s.updateGenerateRoot},
		{method: "DELETE", pattern: "/v1/sys/root-token", op: "sys.root-token.revoke", scope: scopeSystem, handle: s.revokeRootToken},

		{method: "POST", pattern: "/v1/tenants", op: "tenants.create", scope: scopeSystem, handle: s.createTenant},
		{method: "GET", pattern: "/v1/tenants", op: "tenants.list", scope: scopeSystem, handle: s.listTenants},
		{method: "DELETE", pattern: "/v1/tenants/{name}", op: "tenants.delete", scope: scopeSystem, object: "name", handle: s.deleteTenant},

		{method: "GET", pattern: "/v1/tokens/self", op: "tokens.self", scope: scopeSelf, handle: s.lookupSelf},
		{method: "POST", pattern: "/v1/tokens/self/renew", op: "tokens.renew-self", scope: scopeSelf, handle: s.renewSelf},
		{method: "POST", pattern: "/v1/tokens", op: "tokens.create", scope: scopeTenant, handle: s.createToken},
		{method: "GET", pattern: "/v1/tokens", op: "tokens.list", scope: scopeTenant, handle: s.listTokens},
		{method: "GET", pattern: "/v1/tokens/{accessor}", op: "tokens.read", scope: scopeTenant, object: "accessor", handle: s.lookupToken},
		{method: "DELETE", pattern: "/v1/tokens/{accessor}", op: "tokens.revoke", scope: scopeTenant, object: "accessor", handle: s.revokeToken},

		{method: "GET", pattern: "/v1/policies", op: "policies.list", scope: scopeTenant, handle: s.listPolicies},
		{method: "PUT", pattern: "/v1/policies/{name}", op: "policies.write", scope: scopeTenant, object: "name", handle: s.putPolicy},
		{method: "GET", pattern: "/v1/policies/{name}", op: "policies.read", scope: scopeTenant, object: "name", handle: s.getPolicy},
		{method: "DELETE", pattern: "/v1/policies/{name}", op: "policies.delete", scope: scopeTenant, object: "name", handle: s.deletePolicy},

		{method: "POST", pattern: "/v1/keys", op: "keys.create", scope: scopeTenant, body: []bodyObject{{field: "name", main: true}}, handle: s.createKey},
		{method: "GET", pattern: "/v1/keys", op: "keys.list", scope: scopeTenant, handle: s.listKeys},
		{method: "GET", pattern: "/v1/keys/{name}", op: "keys.read", scope: scopeTenant, object: "name", handle: s.getKey},
		{method: "DELETE", pattern: "/v1/keys/{name}", op: "keys.delete", scope: scopeTenant, object: "name", handle: s.deleteKey},
		{method: "POST", pattern: "/v1/keys/{name}/cancel-delete", op: "keys.cancel-delete", scope: scopeTenant, object: "name", handle: s.cancelKeyDeletion},
		{method: "POST", pattern: "/v1/keys/{name}/rotate", op: "keys.rotate", scope: scopeTenant, object: "name", handle: s.rotateKey},
		{method: "POST", pattern: "/v1/keys/{name}/config", op: "keys.config", scope: scopeTenant, object: "name", handle: s.configureKey},
		{method: "POST", pattern: "/v1/keys/{name}/enable", op: "keys.enable", scope: scopeTenant, object: "name", handle: s.enableKey},
		{method: "POST", pattern: "/v1/keys/{name}/disable", op: "keys.disable", scope: scopeTenant, object: "name", handle: s.disableKey},
		{method: "POST", pattern: "/v1/keys/{name}/import-params", op: "keys.import", scope: scopeTenant, object: "name", handle: s.importParams},
		{method: "POST", pattern: "/v1/keys/{name}/import", op: "keys.import", scope: scopeTenant, object: "name", handle: s.importKey},
		{method: "POST", pattern: "/v1/keys/{name}/export", op: "keys.export", scope: scopeTenant, object: "name", handle: s.exportKey},
		{method: "POST", pattern: "/v1/keys/{name}/backup", op: "keys.backup", scope: scopeTenant, object: "name", handle: s.backupKey},
		{method: "POST", pattern: "/v1/keys/restore", op: "keys.restore", scope: scopeTenant, body: []bodyObject{{field: "name", main: true}}, handle: s.restoreKey},
		{method: "GET", pattern: "/v1/keys/{name}/public", op: "keys.public", scope: scopeTenant, object: "name", handle: s.publicKey},

		{method: "POST", pattern: "/v1/keys/{name}/encrypt", op: "encrypt", scope: scopeTenant, pure: true, object: "name", cbor: true, handle: s.encrypt},
		{method: "POST", pattern: "/v1/keys/{name}/decrypt", op: "decrypt", scope: scopeTenant, pure: true, object: "name", cbor: true, handle: s.decrypt},
		{method: "POST", pattern: "/v1/keys/{name}/reencrypt", op: "reencrypt", scope: scopeTenant, object: "name", pure: true, body: []bodyObject{{field: "to_key", op: "encrypt", orPath: true}}, handle: s.reencrypt},
		{method: "POST", pattern: "/v1/keys/{name}/sign", op: "sign", scope: scopeTenant, pure: true, object: "name", cbor: true, handle: s.sign},
		{method: "POST", pattern: "/v1/keys/{name}/verify", op: "verify", scope: scopeTenant, pure: true, object: "name", cbor: true, handle: s.verify},
		{method: "POST", pattern: "/v1/keys/{name}/mac", op: "mac", scope: scopeTenant, pure: true, object: "name", cbor: true, handle: s.mac},
		{method: "POST", pattern: "/v1/keys/{name}/verify-mac", op: "verify-mac", scope: scopeTenant, pure: true, object: "name", cbor: true, handle: s.verifyMAC},
		{method: "POST", pattern: "/v1/keys/{name}/datakey", op: "datakey", scope: scopeTenant, pure: true, object: "name", cbor: true, handle: s.dataKey},
		{method: "POST", pattern: "/v1/keys/{name}/derive", op: "derive", scope: scopeTenant, pure: true, object: "name", cbor: true, handle: s.derive},
		{method: "POST", pattern: "/v1/keys/{name}/fpe", op: "fpe", scope: scopeTenant, pure: true, object: "name", handle: s.fpe(false)},
		{method: "POST", pattern: "/v1/keys/{name}/fpe-decrypt", op: "fpe-decrypt", scope: scopeTenant, pure: true, object: "name", handle: s.fpe(true)},
		{method: "POST", pattern: "/v1/mask", op: "mask", scope: scopeTenant, pure: true, handle: s.mask},
		{method: "POST", pattern: "/v1/hash", op: "hash", scope: scopeTenant, pure: true, stream: true, cbor: true, handle: s.hash},
		{method: "POST", pattern: "/v1/random", op: "random", scope: scopeTenant, pure: true, handle: s.random},

		{method: "POST", pattern: "/v1/aliases", op: "aliases.create", scope: scopeTenant, body: []bodyObject{{field: "name", main: true}, {field: "target", op: sameRights}}, handle: s.createAlias},
		{method: "GET", pattern: "/v1/aliases", op: "aliases.list", scope: scopeTenant, handle: s.listAliases},
		{method: "PUT", pattern: "/v1/aliases/{alias}", op: "aliases.update", scope: scopeTenant, object: "alias", body: []bodyObject{{field: "target", op: sameRights}}, handle: s.updateAlias},
		{method: "DELETE", pattern: "/v1/aliases/{alias}", op: "aliases.delete", scope: scopeTenant, object: "alias", handle: s.deleteAlias},

		{method: "GET", pattern: "/v1/keys/{name}/certificate", op: "keys.certificate", scope: scopeTenant, object: "name", handle: s.keyCertificate},

		{method: "POST", pattern: "/v1/ca", op: "ca.create", scope: scopeTenant, body: []bodyObject{{field: "name", main: true}, {field: "issuer", op: "certs.issue"}}, handle: s.createCA},
		{method: "GET", pattern: "/v1/ca", op: "ca.list", scope: scopeTenant, handle: s.listCAs},
		{method: "GET", pattern: "/v1/ca/{ca}", op: "ca.read", scope: scopeTenant, object: "ca", handle: s.getCA},
		{method: "POST", pattern: "/v1/ca/{ca}/config", op: "ca.config", scope: scopeTenant, object: "ca", handle: s.configureCA},
		{method: "POST", pattern: "/v1/ca/{ca}/install", op: "ca.install", scope: scopeTenant, object: "ca", handle: s.installCA},
		{method: "POST", pattern: "/v1/ca/{ca}/import-params", op: "ca.import", scope: scopeTenant, object: "ca", handle: s.importCAParams},
		{method: "POST", pattern: "/v1/ca/{ca}/import", op: "ca.import", scope: scopeTenant, object: "ca", handle: s.importCA},
		{method: "GET", pattern: "/v1/ca/{ca}/chain", op: "ca.chain", scope: scopeTenant, object: "ca", handle: s.chain},
		{method: "GET", pattern: "/v1/ca/{ca}/crl", op: "ca.crl", scope: scopeTenant, object: "ca", handle: s.crl},
		{method: "GET", pattern: "/v1/ca/{ca}/crl.pem", op: "ca.crl", scope: scopeTenant, object: "ca", handle: s.crlPEM},
		{method: "GET", pattern: "/v1/ca/{ca}/ocsp/{request...}", op: "ca.ocsp", scope: scopeTenant, object: "ca", handle: s.ocsp},
		{method: "POST", pattern: "/v1/ca/{ca}/ocsp", op: "ca.ocsp", scope: scopeTenant, pure: true, object: "ca", handle: s.ocsp},
		{method: "GET", pattern: "/v1/ca/{ca}/profiles", op: "ca.profiles.list", scope: scopeTenant, object: "ca", handle: s.listProfiles},
		{method: "PUT", pattern: "/v1/ca/{ca}/profiles/{profile}", op: "ca.profiles.write", scope: scopeTenant, object: "ca", handle: s.putProfile},
		{method: "GET", pattern: "/v1/ca/{ca}/profiles/{profile}", op: "ca.profiles.read", scope: scopeTenant, object: "ca", handle: s.getProfile},
		{method: "DELETE", pattern: "/v1/ca/{ca}/profiles/{profile}", op: "ca.profiles.delete", scope: scopeTenant, object: "ca", handle: s.deleteProfile},
		{method: "POST", pattern: "/v1/ca/{ca}/sign-csr", op: "certs.sign-csr", scope: scopeTenant, object: "ca", handle: s.signCSR},
		{method: "POST", pattern: "/v1/ca/{ca}/issue", op: "certs.issue", scope: scopeTenant, object: "ca", body: []bodyObject{{field: "key", op: "keys.read"}}, handle: s.issue},
		{method: "POST", pattern: "/v1/ca/{ca}/issue-keypair", op: "certs.issue-keypair", scope: scopeTenant, object: "ca", handle: s.issueKeyPair},
		{method: "POST", pattern: "/v1/ca/{ca}/issue-dual", op: "certs.issue-dual", scope: scopeTenant, object: "ca", handle: s.issueDual},
		{method: "POST", pattern: "/v1/ca/{ca}/revoke", op: "certs.revoke", scope: scopeTenant, object: "ca", handle: s.revokeAtCA},

		{method: "GET", pattern: "/v1/certs", op: "certs.list", scope: scopeTenant, handle: s.listCertificates},
		{method: "GET", pattern: "/v1/certs/{serial}", op: "certs.read", scope: scopeTenant, object: "serial", handle: s.getCertificate},
		{method: "POST", pattern: "/v1/certs/{serial}/renew", op: "certs.renew", scope: scopeTenant, object: "serial", handle: s.renewCertificate},
		{method: "POST", pattern: "/v1/certs/{serial}/revoke", op: "certs.revoke", scope: scopeTenant, object: "serial", handle: s.revokeCertificate},
		{method: "POST", pattern: "/v1/certs/{serial}/hold", op: "certs.hold", scope: scopeTenant, object: "serial", handle: s.holdCertificate},
		{method: "POST", pattern: "/v1/certs/{serial}/release", op: "certs.release", scope: scopeTenant, object: "serial", handle: s.releaseCertificate},

		// Relying parties fetch chains, CRLs and OCSP answers without a token.
		{method: "GET", pattern: "/v1/pki/{tenant}/ca/{ca}/chain", op: "pki.chain", scope: scopePublic, object: "ca", handle: s.publicTenant(s.chain)},
		{method: "GET", pattern: "/v1/pki/{tenant}/ca/{ca}/crl", op: "pki.crl", scope: scopePublic, object: "ca", handle: s.publicTenant(s.crl)},
		{method: "GET", pattern: "/v1/pki/{tenant}/ca/{ca}/crl.pem", op: "pki.crl", scope: scopePublic, object: "ca", handle: s.publicTenant(s.crlPEM)},
		{method: "GET", pattern: "/v1/pki/{tenant}/ca/{ca}/ocsp/{request...}", op: "pki.ocsp", scope: scopePublic, object: "ca", handle: s.publicTenant(s.ocsp)},
		{method: "POST", pattern: "/v1/pki/{tenant}/ca/{ca}/ocsp", op: "pki.ocsp", scope: scopePublic, pure: true, object: "ca", handle: s.publicTenant(s.ocsp)},

		{method: "POST", pattern: "/v1/cms/sign", op: "cms.sign", scope: scopeTenant, pure: true, body: signerObjects, handle: s.cmsSign},
		{method: "POST", pattern: "/v1/cms/add-signer", op: "cms.sign", scope: scopeTenant, pure: true, body: signerObjects, handle: s.cmsAddSigner},
		{method: "POST", pattern: "/v1/cms/countersign", op: "cms.sign", scope: scopeTenant, pure: true, body: signerObjects, handle: s.cmsCounterSign},
		{method: "POST", pattern: "/v1/cms/verify", op: "cms.verify", scope: scopeTenant, pure: true, handle: s.cmsVerify},
		{method: "POST", pattern: "/v1/cms/encrypt", op: "cms.encrypt", scope: scopeTenant, pure: true, handle: s.cmsEncrypt},
		{method: "POST", pattern: "/v1/cms/decrypt", op: "cms.decrypt", scope: scopeTenant, pure: true, body: []bodyObject{{field: "key", main: true}}, handle: s.cmsDecrypt},

		{method: "POST", pattern: "/v1/tsas", op: "tsa.create", scope: scopeTenant, body: []bodyObject{{field: "name", main: true}, {field: "ca", op: "certs.issue"}}, handle: s.createTSA},
		{method: "GET", pattern: "/v1/tsas", op: "tsa.list", scope: scopeTenant, handle: s.listTSAs},
		{method: "POST", pattern: "/v1/tsa", op: "tsa.stamp", scope: scopeTenant, fixedObject: defaultTSA, handle: s.timestamp},
		{method: "POST", pattern: "/v1/tsa/{name}", op: "tsa.stamp", scope: scopeTenant, object: "name", handle: s.timestamp},
		{method: "GET", pattern: "/v1/tsa/{name}/certificate", op: "tsa.read", scope: scopeTenant, object: "name", handle: s.tsaCertificate},
		{method: "POST", pattern: "/v1/tsa/verify", op: "tsa.verify", scope: scopeTenant, pure: true, handle: s.verifyTimestamp},

		{method: "POST", pattern: "/v1/auth/challenge", op: "auth.challenge", scope: scopePublic, pure: true, handle: s.challenge},
		{method: "POST", pattern: "/v1/auth/login", op: "auth.login", scope: scopePublic, handle: s.login},
		{method: "GET", pattern: "/v1/auth/rules", op: "auth.rules.list", scope: scopeTenant, handle: s.listLoginRules},
		{method: "PUT", pattern: "/v1/auth/rules/{name}", op: "auth.rules.write", scope: scopeTenant, object: "name", body: []bodyObject{{field: "ca", op: refOnly}}, handle: s.putLoginRule},
		{method: "GET", pattern: "/v1/auth/rules/{name}", op: "auth.rules.read", scope: scopeTenant, object: "name", handle: s.getLoginRule},
		{method: "DELETE", pattern: "/v1/auth/rules/{name}", op: "auth.rules.delete", scope: scopeTenant, object: "name", handle: s.deleteLoginRule},

		{method: "POST", pattern: "/v1/v2x", op: "v2x.create", scope: scopeSystem, handle: s.createV2X},
		{method: "GET", pattern: "/v1/v2x", op: "v2x.list", scope: scopeSystem, handle: s.listV2X},
		{method: "GET", pattern: "/v1/v2x/{deployment}", op: "v2x.read", scope: scopeSystem, object: "deployment", handle: s.getV2X},
		{method: "POST", pattern: "/v1/v2x/{deployment}/migrate", op: "v2x.migrate", scope: scopeSystem, object: "deployment", handle: s.migrateV2X},
		{method: "PUT", pattern: "/v1/v2x/{deployment}/devices", op: "v2x.devices.write", scope: scopeTenant, object: "deployment", handle: s.putV2XDevices},
		{method: "GET", pattern: "/v1/v2x/{deployment}/devices/{id}", op: "v2x.devices.read", scope: scopeTenant, object: "deployment", handle: s.getV2XDevice},
		{method: "POST", pattern: "/v1/v2x/{deployment}/flush", op: "v2x.flush", scope: scopeTenant, object: "deployment", handle: s.flushV2X},
		{method: "POST", pattern: "/v1/v2x/{deployment}/reports", op: "v2x.report", scope: scopeTenant, object: "deployment", handle: s.reportV2X},
		{method: "POST", pattern: "/v1/v2x/{deployment}/crls", op: "v2x.crls.issue", scope: scopeTenant, object: "deployment", handle: s.issueV2XCRLs},
		{method: "POST", pattern: "/v1/v2x-las", op: "v2x.la.create", scope: scopeTenant, body: []bodyObject{{field: "name", main: true}}, handle: s.createV2XLA},
		{method: "GET", pattern: "/v1/v2x-las/{la}", op: "v2x.la.read", scope: scopeTenant, object: "la", handle: s.getV2XLA},
		{method: "POST", pattern: "/v1/v2x-las/{la}/pre-linkage", op: "v2x.la.pre-linkage", scope: scopeTenant, object: "la", handle: v2xLACall(s, v2xPreLinkage)},
		{method: "POST", pattern: "/v1/v2x-las/{la}/seeds", op: "v2x.la.seed", scope: scopeTenant, object: "la", handle: v2xLACall(s, v2xLinkageSeed)},
		// Devices talk COER to the authorities without a token.
		{method: "POST", pattern: "/v1/v2x/{deployment}/enrol", op: "v2x.enrol", scope: scopePublic, object: "deployment", handle: s.v2xCOER(s.v2xEnrol)},
		{method: "POST", pattern: "/v1/v2x/{deployment}/requests", op: "v2x.request", scope: scopePublic, object: "deployment", handle: s.v2xCOER(s.v2xRequest)},
		{method: "POST", pattern: "/v1/v2x/{deployment}/downloads", op: "v2x.download", scope: scopePublic, object: "deployment", handle: s.v2xCOER(s.v2xDownload)},
		{method: "GET", pattern: "/v1/v2x/{deployment}/trust-list", op: "v2x.trust-list", scope: scopePublic, object: "deployment", handle: s.v2xCOER(s.v2xTrustList)},
		{method: "GET", pattern: "/v1/v2x/{deployment}/crl", op: "v2x.crl", scope: scopePublic, object: "deployment", handle: s.v2xCOER(s.v2xCRL)},

		{method: "GET", pattern: "/v1/usage", op: "usage.read", scope: scopeTenant, handle: s.usageQuery},

		{method: "GET", pattern: "/v1/audit/verify", op: "audit.verify", scope: scopeSystem, handle: s.verifyAudit},
		{method: "GET", pattern: "/v1/audit/export", op: "audit.export", scope: scopeSystem, handle: s.exportAudit},
		{method: "GET", pattern: "/v1/audit/records", op: "audit.search", scope: scopeTenant, handle: s.searchAudit},
	}
}
