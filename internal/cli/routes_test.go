package cli

import (
	"os"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// routeCommands names the command that reaches each route of
// internal/api/openapi.yaml. Routes that a person never calls by hand (the
// spec itself, OCSP, the public mirrors of CA files that relying parties
// fetch by URL, the calls a deployment makes to a remote linkage
// authority) and the import of a CA's key made elsewhere (a GB/T 35276
// envelope that the external tooling prepares) are reached by the generic
// read and write, as any route can be.
var routeCommands = map[string]string{
	"GET /v1/tenants/{name}/quota":                "tenant quota",
	"PUT /v1/tenants/{name}/quota":                "tenant quota",
	"GET /v1/sys/devices":                         "device list",
	"GET /v1/sys/devices/{name}":                  "device status",
	"POST /v1/sys/devices/{name}/drain":           "device drain",
	"GET /v1/pki/{tenant}/sm9/{kgc}/public":       "sm9 public",
	"GET /v1/pki/{tenant}/sm9/{kgc}/revoked":      "sm9 revoked",
	"POST /v1/keys/{name}/sm9/decrypt":            "sm9 decrypt",
	"POST /v1/keys/{name}/sm9/encrypt":            "sm9 encrypt",
	"POST /v1/keys/{name}/sm9/extract":            "sm9 extract",
	"POST /v1/keys/{name}/sm9/encapsulate":        "sm9 encapsulate",
	"POST /v1/keys/{name}/sm9/decapsulate":        "sm9 decapsulate",
	"POST /v1/keys/{name}/sm9/exchange":           "sm9 exchange",
	"POST /v1/keys/{name}/sm9/revoke":             "sm9 revoke",
	"POST /v1/keys/{name}/sm9/sign":               "sm9 sign",
	"POST /v1/keys/{name}/sm9/verify":             "sm9 verify",
	"POST /v1/pki/{tenant}/sm9/{kgc}/verify":      "sm9 verify",
	"GET /v1/sys/health":                          "status",
	"GET /v1/sys/deployment":                      "status",
	"GET /v1/sys/openapi.yaml":                    "read",
	"POST /v1/sys/init":                           "operator init",
	"POST /v1/sys/unseal":                         "operator unseal",
	"POST /v1/sys/seal":                           "operator seal",
	"POST /v1/sys/rotate":                         "operator rotate",
	"GET /v1/sys/key-status":                      "operator key-status",
	"GET /v1/sys/generate-root/attempt":           "operator generate-root",
	"POST /v1/sys/generate-root/attempt":          "operator generate-root",
	"DELETE /v1/sys/generate-root/attempt":        "operator generate-root",
	"POST /v1/sys/generate-root/update":           "operator generate-root",
	"DELETE /v1/sys/root-token":                   "operator revoke-root",
	"POST /v1/tenants":                            "tenant create",
	"GET /v1/tenants":                             "tenant list",
	"DELETE /v1/tenants/{name}":                   "tenant delete",
	"GET /v1/tokens/self":                         "token lookup",
	"POST /v1/tokens/self/renew":                  "token renew",
	"POST /v1/tokens":                             "token create",
	"GET /v1/tokens":                              "token list",
	"GET /v1/tokens/{accessor}":                   "token lookup",
	"DELETE /v1/tokens/{accessor}":                "token revoke",
	"GET /v1/policies":                            "policy list",
	"PUT /v1/policies/{name}":                     "policy write",
	"GET /v1/policies/{name}":                     "policy read",
	"DELETE /v1/policies/{name}":                  "policy delete",
	"POST /v1/keys":                               "key create",
	"GET /v1/keys":                                "key list",
	"GET /v1/keys/{name}":                         "key show",
	"DELETE /v1/keys/{name}":                      "key delete",
	"POST /v1/keys/{name}/cancel-delete":          "key cancel-delete",
	"POST /v1/keys/{name}/rotate":                 "key rotate",
	"POST /v1/keys/{name}/config":                 "key config",
	"POST /v1/keys/{name}/enable":                 "key enable",
	"POST /v1/keys/{name}/disable":                "key disable",
	"POST /v1/keys/{name}/import-params":          "key import",
	"POST /v1/keys/{name}/import":                 "key import",
	"POST /v1/keys/{name}/export":                 "key export",
	"POST /v1/keys/{name}/backup":                 "key backup",
	"POST /v1/keys/restore":                       "key restore",
	"GET /v1/keys/{name}/public":                  "key public",
	"POST /v1/keys/{name}/encrypt":                "encrypt",
	"POST /v1/keys/{name}/decrypt":                "decrypt",
	"POST /v1/keys/{name}/reencrypt":              "reencrypt",
	"POST /v1/keys/{name}/sign":                   "sign",
	"POST /v1/keys/{name}/verify":                 "verify",
	"POST /v1/keys/{name}/mac":                    "mac",
	"POST /v1/keys/{name}/verify-mac":             "mac",
	"POST /v1/keys/{name}/datakey":                "datakey",
	"POST /v1/keys/{name}/derive":                 "derive",
	"POST /v1/keys/{name}/eea3":                   "eea3",
	"POST /v1/keys/{name}/eia3":                   "eia3",
	"POST /v1/keys/{name}/fpe":                    "fpe",
	"POST /v1/keys/{name}/fpe-decrypt":            "fpe",
	"POST /v1/mask":                               "mask",
	"POST /v1/keys/{name}/dcas/emm":               "dcas emm",
	"POST /v1/keys/{name}/dcas/ecm":               "dcas ecm",
	"POST /v1/keys/{name}/dcas/inject":            "dcas inject",
	"POST /v1/keys/{name}/dcas/image-key":         "dcas sign-image",
	"POST /v1/keys/{name}/tsig/sign":              "dns tsig-sign",
	"POST /v1/keys/{name}/tsig/verify":            "dns tsig-verify",
	"POST /v1/hash":                               "hash",
	"POST /v1/random":                             "random",
	"POST /v1/aliases":                            "key alias create",
	"GET /v1/aliases":                             "key alias list",
	"PUT /v1/aliases/{alias}":                     "key alias update",
	"DELETE /v1/aliases/{alias}":                  "key alias delete",
	"GET /v1/keys/{name}/certificate":             "key certificate",
	"POST /v1/ca":                                 "ca create-root",
	"GET /v1/ca":                                  "ca list",
	"GET /v1/ca/{ca}":                             "ca show",
	"POST /v1/ca/{ca}/config":                     "ca config",
	"POST /v1/ca/{ca}/install":                    "ca install",
	"POST /v1/ca/{ca}/import-params":              "write",
	"POST /v1/ca/{ca}/import":                     "write",
	"GET /v1/ca/{ca}/chain":                       "ca chain",
	"GET /v1/ca/{ca}/crl":                         "ca crl",
	"GET /v1/ca/{ca}/crl.pem":                     "ca crl",
	"GET /v1/ca/{ca}/ocsp/{request}":              "read",
	"POST /v1/ca/{ca}/ocsp":                       "write",
	"GET /v1/ca/{ca}/profiles":                    "ca profile list",
	"PUT /v1/ca/{ca}/profiles/{profile}":          "ca profile write",
	"GET /v1/ca/{ca}/profiles/{profile}":          "ca profile read",
	"DELETE /v1/ca/{ca}/profiles/{profile}":       "ca profile delete",
	"POST /v1/ca/{ca}/sign-csr":                   "ca sign-csr",
	"POST /v1/ca/{ca}/issue":                      "ca issue",
	"POST /v1/ca/{ca}/issue-keypair":              "ca issue-keypair",
	"POST /v1/ca/{ca}/issue-dual":                 "ca issue-dual",
	"POST /v1/ca/{ca}/revoke":                     "ca revoke",
	"GET /v1/certs":                               "cert list",
	"GET /v1/certs/{serial}":                      "cert show",
	"POST /v1/certs/{serial}/renew":               "cert renew",
	"POST /v1/certs/{serial}/revoke":              "cert revoke",
	"POST /v1/certs/{serial}/hold":                "cert hold",
	"POST /v1/certs/{serial}/release":             "cert release",
	"GET /v1/pki/{tenant}/ca/{ca}/chain":          "read",
	"GET /v1/pki/{tenant}/ca/{ca}/crl":            "read",
	"GET /v1/pki/{tenant}/ca/{ca}/crl.pem":        "read",
	"GET /v1/pki/{tenant}/ca/{ca}/ocsp/{request}": "read",
	"POST /v1/pki/{tenant}/ca/{ca}/ocsp":          "write",
	"POST /v1/cms/sign":                           "cms sign",
	"POST /v1/cms/add-signer":                     "cms add-signer",
	"POST /v1/cms/countersign":                    "cms countersign",
	"POST /v1/cms/verify":                         "cms verify",
	"POST /v1/cms/encrypt":                        "cms encrypt",
	"POST /v1/cms/decrypt":                        "cms decrypt",
	"POST /v1/tsas":                               "tsa create",
	"GET /v1/tsas":                                "tsa list",
	"POST /v1/tsa":                                "ts request",
	"POST /v1/tsa/{name}":                         "ts request",
	"GET /v1/tsa/{name}/certificate":              "tsa chain",
	"POST /v1/tsa/verify":                         "ts verify",
	"POST /v1/auth/challenge":                     "login",
	"POST /v1/auth/login":                         "login",
	"GET /v1/auth/rules":                          "login-rule list",
	"PUT /v1/auth/rules/{name}":                   "login-rule write",
	"GET /v1/auth/rules/{name}":                   "login-rule read",
	"DELETE /v1/auth/rules/{name}":                "login-rule delete",
	"POST /v1/v2x":                                "v2x create",
	"GET /v1/v2x":                                 "v2x list",
	"GET /v1/v2x/{deployment}":                    "v2x show",
	"POST /v1/v2x/{deployment}/migrate":           "v2x migrate",
	"PUT /v1/v2x/{deployment}/devices":            "v2x allow",
	"GET /v1/v2x/{deployment}/devices/{id}":       "v2x device",
	"POST /v1/v2x/{deployment}/flush":             "v2x flush",
	"POST /v1/v2x/{deployment}/reports":           "v2x report",
	"POST /v1/v2x/{deployment}/crls":              "v2x issue-crls",
	"POST /v1/v2x-las":                            "v2x la create",
	"GET /v1/v2x-las/{la}":                        "v2x la show",
	"POST /v1/v2x-las/{la}/pre-linkage":           "write",
	"POST /v1/v2x-las/{la}/seeds":                 "write",
	"POST /v1/v2x/{deployment}/enrol":             "v2x enroll",
	"POST /v1/v2x/{deployment}/requests":          "v2x request-pseudonyms",
	"POST /v1/v2x/{deployment}/downloads":         "v2x download",
	"GET /v1/v2x/{deployment}/trust-list":         "v2x verify",
	"GET /v1/v2x/{deployment}/crl":                "v2x check-revoked",
	"GET /v1/audit/verify":                        "audit verify",
	"GET /v1/audit/export":                        "audit export",
	"GET /v1/audit/records":                       "audit search",
	"GET /v1/usage":                               "usage",
}

// TestEveryRouteHasACommand walks the OpenAPI spec: every route has an
// entry in routeCommands naming a command that exists, and every entry is
// a route of the spec (issue 13).
func TestEveryRouteHasACommand(t *testing.T) {
	b, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	commands := map[string]bool{}
	for _, p := range commandPaths((&env{}).rootCommand(), nil) {
		commands[strings.Join(p, " ")] = true
	}
	inSpec := map[string]bool{}
	for path, ops := range spec.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			route := strings.ToUpper(method) + " " + path
			inSpec[route] = true
			switch cmd, ok := routeCommands[route]; {
			case !ok:
				t.Errorf("route %s has no command in routeCommands", route)
			case !commands[cmd]:
				t.Errorf("route %s: command %q does not exist", route, cmd)
			}
		}
	}
	var stale []string
	for route := range routeCommands {
		if !inSpec[route] {
			stale = append(stale, route)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("routeCommands names routes the spec does not have: %v", stale)
	}
}
