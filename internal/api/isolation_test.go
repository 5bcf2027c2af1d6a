package api

import (
	"bytes"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/mimacrypto/mima/internal/cms"
	"github.com/mimacrypto/mima/internal/pki"
	"github.com/mimacrypto/mima/sdk"
)

// isolationCase says how one route is tried by tenant B against tenant A's
// objects. Every route that acts in a tenant or on the system must have
// one: a route added without a case fails TestEveryRouteIsolatesTenants.
type isolationCase struct {
	path    string // request path naming A's object
	body    any
	allowed []int    // statuses B may get; default 403 and 404
	leaks   []string // strings of A's that must not appear in B's answer
	owner   int      // status A itself gets (positive control); 0 to skip
	header  []string // extra request headers, name then value
	check   func(t *testing.T, n *testNode, owner, intruder string)
}

// tenantFixture is tenant A's objects.
type tenantFixture struct {
	policy     string
	accessor   string
	ciphertext string   // of key sm4-a
	signature  []byte   // by key sm2-a over "hi"
	mac        []byte   // by key hmac-a over "hi"
	publicKey  string   // of key sm2-a, PEM
	backup     []byte   // of key export-a, password "correct horse battery"
	csr        string   // PEM, SM2
	ocsp       []byte   // an OCSP request for certs[0] of CA ca-a
	certs      []string // serials issued by CA ca-a, one per certificate case
	cms        []byte   // SignedData by key sm2-a
	envelope   []byte   // EnvelopedData to key enc-a
	encCert    string   // the encryption certificate of key enc-a, PEM
	tsq        []byte   // a TimeStampReq
	tsr        []byte   // the reply of A's TSA "default" to tsq
	pca        []byte   // the PCA certificate of V2X deployment "iso"; A runs LA la-a for it
	sm9sig     []byte   // by identity "dev-a" of A's KGC kgc-a over "hi"
	sm9ct      []byte   // to identity "dev-a" of A's KGC ekgc-a
	sm9enc     []byte   // a 16-byte key encapsulated to identity "dev-a" of ekgc-a
	tsig       []byte   // a DNS query with a TSIG by key hmac-a
}

func isolationCases(fx tenantFixture) map[string]isolationCase {
	notFound := []int{http.StatusNotFound}
	policyKept := func(t *testing.T, n *testNode, owner, _ string) {
		t.Helper()
		r := n.do("GET", "/v1/policies/"+fx.policy, owner, nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "tokens.read") {
			t.Fatalf("tenant A's policy changed by tenant B: %d %s", r.status, r.body)
		}
	}
	return map[string]isolationCase{
		"POST /v1/tokens":              {path: "/v1/tokens", body: map[string]any{"policies": []string{fx.policy}}, allowed: notFound, owner: http.StatusCreated},
		"GET /v1/tokens":               {path: "/v1/tokens", allowed: []int{http.StatusOK}, leaks: []string{fx.accessor}, owner: http.StatusOK},
		"GET /v1/tokens/{accessor}":    {path: "/v1/tokens/" + fx.accessor, allowed: notFound, owner: http.StatusOK},
		"DELETE /v1/tokens/{accessor}": {path: "/v1/tokens/" + fx.accessor, allowed: notFound, owner: http.StatusNoContent},
		"GET /v1/policies":             {path: "/v1/policies", allowed: []int{http.StatusOK}, leaks: []string{fx.policy}, owner: http.StatusOK},
		"PUT /v1/policies/{name}": {path: "/v1/policies/" + fx.policy, body: map[string]any{"rules": []map[string][]string{{"operations": {"tokens.*"}, "objects": {"*"}}}}, allowed: []int{http.StatusOK},
			check: func(t *testing.T, n *testNode, owner, intruder string) {
				// B wrote a policy of its own under the same name; remove it
				// so that later cases see only A's.
				policyKept(t, n, owner, intruder)
				if r := n.do("DELETE", "/v1/policies/"+fx.policy, intruder, nil); r.status != http.StatusNoContent {
					t.Fatalf("deleting B's own policy: %d %s", r.status, r.body)
				}
			}},
		"GET /v1/policies/{name}":    {path: "/v1/policies/" + fx.policy, allowed: notFound, leaks: []string{"tokens.read"}, owner: http.StatusOK},
		"DELETE /v1/policies/{name}": {path: "/v1/policies/" + fx.policy, allowed: notFound, check: policyKept},
		"POST /v1/keys": {path: "/v1/keys", body: map[string]any{"name": "shared-name", "type": "sm4"}, allowed: []int{http.StatusCreated},
			check: func(t *testing.T, n *testNode, owner, _ string) {
				t.Helper()
				var k sdk.Key
				r := n.do("GET", "/v1/keys/shared-name", owner, nil)
				r.json(t, &k)
				if k.Description != "tenant a's" {
					t.Fatalf("tenant B's create touched tenant A's key: %s", r.body)
				}
			}},
		"GET /v1/keys":                       {path: "/v1/keys", allowed: []int{http.StatusOK}, leaks: []string{"sm4-a", "sm2-a", "hmac-a", "zuc-a", "tenant a's"}, owner: http.StatusOK},
		"GET /v1/keys/{name}":                {path: "/v1/keys/sm4-a", allowed: notFound, owner: http.StatusOK},
		"DELETE /v1/keys/{name}":             {path: "/v1/keys/doomed-a", allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/cancel-delete": {path: "/v1/keys/doomed-a/cancel-delete", allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/rotate":        {path: "/v1/keys/sm4-a/rotate", allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/config":        {path: "/v1/keys/sm4-a/config", body: map[string]int{"min_decryption_version": 1}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/enable":        {path: "/v1/keys/toggle-a/enable", allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/disable":       {path: "/v1/keys/toggle-a/disable", allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/import-params": {path: "/v1/keys/sm4-a/import-params", allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/import":        {path: "/v1/keys/sm4-a/import", body: map[string]string{"token": "00", "wrapped_material": "YQ=="}, allowed: []int{http.StatusBadRequest, http.StatusNotFound}, owner: http.StatusBadRequest},
		"POST /v1/keys/{name}/export":        {path: "/v1/keys/export-a/export", body: map[string]string{"public_key": fx.publicKey}, allowed: notFound, leaks: []string{"wrapped"}, owner: http.StatusOK},
		"POST /v1/keys/{name}/backup":        {path: "/v1/keys/export-a/backup", body: map[string]string{"password": "correct horse battery"}, allowed: notFound, leaks: []string{"backup"}, owner: http.StatusOK},
		// Whoever holds a backup and its password holds the key, in any
		// tenant or cluster; restoring it in B must leave A's key alone.
		"POST /v1/keys/restore": {path: "/v1/keys/restore", body: map[string]any{"backup": fx.backup, "password": "correct horse battery"}, allowed: []int{http.StatusCreated},
			check: func(t *testing.T, n *testNode, owner, _ string) {
				t.Helper()
				if r := n.do("GET", "/v1/keys/export-a", owner, nil); r.status != http.StatusOK {
					t.Fatalf("tenant A's key after tenant B's restore: %d %s", r.status, r.body)
				}
			}},
		"GET /v1/keys/{name}/public":           {path: "/v1/keys/sm2-a/public", allowed: notFound, leaks: []string{"PUBLIC KEY"}, owner: http.StatusOK},
		"POST /v1/keys/{name}/encrypt":         {path: "/v1/keys/sm4-a/encrypt", body: map[string]string{"plaintext": "aGk="}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/decrypt":         {path: "/v1/keys/sm4-a/decrypt", body: map[string]string{"ciphertext": fx.ciphertext}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/reencrypt":       {path: "/v1/keys/sm4-a/reencrypt", body: map[string]string{"ciphertext": fx.ciphertext}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/sm9/extract":     {path: "/v1/keys/kgc-a/sm9/extract", body: map[string]any{"id": "dev-b", "deliver": map[string]bool{"hosted": true}}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/sm9/sign":        {path: "/v1/keys/kgc-a/sm9/sign", body: map[string]string{"id": "dev-a", "input": "aGk="}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/sm9/verify":      {path: "/v1/keys/kgc-a/sm9/verify", body: map[string]any{"id": "dev-a", "input": "aGk=", "signature": fx.sm9sig}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/sm9/encrypt":     {path: "/v1/keys/ekgc-a/sm9/encrypt", body: map[string]string{"id": "dev-a", "plaintext": "aGk="}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/sm9/decrypt":     {path: "/v1/keys/ekgc-a/sm9/decrypt", body: map[string]any{"id": "dev-a", "ciphertext": fx.sm9ct}, allowed: notFound, leaks: []string{"aGk="}, owner: http.StatusOK},
		"POST /v1/keys/{name}/sm9/revoke":      {path: "/v1/keys/kgc-a/sm9/revoke", body: map[string][]string{"ids": {"someone"}}, allowed: notFound, owner: http.StatusNoContent},
		"POST /v1/keys/{name}/sign":            {path: "/v1/keys/sm2-a/sign", body: map[string]string{"input": "aGk="}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/verify":          {path: "/v1/keys/sm2-a/verify", body: map[string]any{"input": "aGk=", "signature": fx.signature}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/mac":             {path: "/v1/keys/hmac-a/mac", body: map[string]string{"input": "aGk="}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/verify-mac":      {path: "/v1/keys/hmac-a/verify-mac", body: map[string]any{"input": "aGk=", "mac": fx.mac}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/datakey":         {path: "/v1/keys/sm4-a/datakey", allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/derive":          {path: "/v1/keys/sm4-a/derive", body: map[string]string{"device_id": "meter-1"}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/fpe":             {path: "/v1/keys/sm4-a/fpe", body: map[string]string{"input": "13812345678"}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/fpe-decrypt":     {path: "/v1/keys/sm4-a/fpe-decrypt", body: map[string]string{"input": "13812345678"}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/mask":                        {path: "/v1/mask", body: map[string]string{"kind": "phone", "input": "13812345678"}, allowed: []int{http.StatusOK}},
		"POST /v1/hash":                        {path: "/v1/hash", body: map[string]string{"input": "aGk="}, allowed: []int{http.StatusOK}},
		"POST /v1/random":                      {path: "/v1/random", body: map[string]int{"bytes": 16}, allowed: []int{http.StatusOK}},
		"POST /v1/aliases":                     {path: "/v1/aliases", body: map[string]string{"name": "alias:a", "target": "sm4-a"}, allowed: notFound, owner: http.StatusConflict},
		"GET /v1/aliases":                      {path: "/v1/aliases", allowed: []int{http.StatusOK}, leaks: []string{"alias:a"}, owner: http.StatusOK},
		"PUT /v1/aliases/{alias}":              {path: "/v1/aliases/alias:a", body: map[string]string{"target": "sm2-a"}, allowed: notFound, owner: http.StatusOK},
		"DELETE /v1/aliases/{alias}":           {path: "/v1/aliases/alias:a", allowed: notFound, owner: http.StatusNoContent},
		"GET /v1/keys/{name}/certificate":      {path: "/v1/keys/sm2-a/certificate", allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/dcas/emm":        {path: "/v1/keys/sm4-a/dcas/emm", body: map[string]any{"chips": []string{"0000abcd"}, "period": 1}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/dcas/ecm":        {path: "/v1/keys/sm4-a/dcas/ecm", body: map[string]any{"channel": "c1", "period": 1}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/dcas/image-key":  {path: "/v1/keys/sm4-a/dcas/image-key", body: map[string]any{}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/dcas/inject":     {path: "/v1/keys/sm4-a/dcas/inject", body: map[string]any{"chips": []string{"0000abcd"}, "station_key": fx.publicKey}, allowed: notFound, leaks: []string{"block"}, owner: http.StatusOK},
		"POST /v1/keys/{name}/eea3":            {path: "/v1/keys/zuc-a/eea3", body: map[string]any{"input": "aGk=", "count": 1}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/eia3":            {path: "/v1/keys/zuc-a/eia3", body: map[string]any{"input": "aGk=", "bearer": 3}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/sm9/encapsulate": {path: "/v1/keys/ekgc-a/sm9/encapsulate", body: map[string]any{"id": "dev-a", "length": 16}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/sm9/decapsulate": {path: "/v1/keys/ekgc-a/sm9/decapsulate", body: map[string]any{"id": "dev-a", "encapsulation": fx.sm9enc, "length": 16}, allowed: notFound, owner: http.StatusOK},
		// A's identity answers; an R_A that is not a point is A's own 400.
		"POST /v1/keys/{name}/sm9/exchange": {path: "/v1/keys/ekgc-a/sm9/exchange", body: map[string]any{"id": "dev-a", "peer": "dev-b", "ra": "BA==", "length": 16}, allowed: notFound, owner: http.StatusBadRequest},
		"POST /v1/keys/{name}/tsig/sign":    {path: "/v1/keys/hmac-a/tsig/sign", body: map[string]any{"message": dnsQuery()}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/keys/{name}/tsig/verify":  {path: "/v1/keys/hmac-a/tsig/verify", body: map[string]any{"message": fx.tsig}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/ca": {path: "/v1/ca", body: map[string]any{"name": "shared-ca", "type": "root", "subject": map[string]string{"common_name": "B's own"}}, allowed: []int{http.StatusCreated},
			check: func(t *testing.T, n *testNode, owner, _ string) {
				t.Helper()
				var ca sdk.CA
				n.do("GET", "/v1/ca/shared-ca", owner, nil).json(t, &ca)
				if !strings.Contains(ca.Subject, "A's CA") {
					t.Fatalf("tenant B's create touched tenant A's CA: %+v", ca)
				}
			}},
		"GET /v1/ca":                     {path: "/v1/ca", allowed: []int{http.StatusOK}, leaks: []string{`"ca-a"`, "A's CA"}, owner: http.StatusOK},
		"GET /v1/ca/{ca}":                {path: "/v1/ca/ca-a", allowed: notFound, owner: http.StatusOK},
		"POST /v1/ca/{ca}/config":        {path: "/v1/ca/ca-a/config", body: map[string]any{}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/ca/{ca}/install":       {path: "/v1/ca/ca-a/install", body: map[string]string{"certificate": "x"}, allowed: notFound},
		"POST /v1/ca/{ca}/import-params": {path: "/v1/ca/shared-ca/import-params", allowed: []int{http.StatusOK, http.StatusNotFound, http.StatusConflict}},
		"POST /v1/ca/{ca}/import":        {path: "/v1/ca/shared-ca/import", body: map[string]string{"token": "00"}, allowed: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict}},
		"GET /v1/ca/{ca}/chain":          {path: "/v1/ca/ca-a/chain", allowed: notFound, leaks: []string{"CERTIFICATE"}, owner: http.StatusOK},
		"GET /v1/ca/{ca}/crl":            {path: "/v1/ca/ca-a/crl", allowed: notFound, owner: http.StatusOK},
		"GET /v1/ca/{ca}/crl.pem":        {path: "/v1/ca/ca-a/crl.pem", allowed: notFound, leaks: []string{"X509 CRL"}, owner: http.StatusOK},
		// An OCSP responder answers every request with an OCSPResponse;
		// for another tenant's CA that is "unauthorized" (30 03 0a 01 06).
		"GET /v1/ca/{ca}/ocsp/{request...}":     {path: "/v1/ca/ca-a/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(fx.ocsp)), allowed: []int{http.StatusOK}, leaks: []string{"\x30\x82"}, owner: http.StatusOK, check: ocspUnauthorized(fx)},
		"POST /v1/ca/{ca}/ocsp":                 {path: "/v1/ca/ca-a/ocsp", body: fx.ocsp, allowed: []int{http.StatusOK}, owner: http.StatusOK, check: ocspUnauthorized(fx)},
		"GET /v1/ca/{ca}/profiles":              {path: "/v1/ca/ca-a/profiles", allowed: notFound, owner: http.StatusOK},
		"PUT /v1/ca/{ca}/profiles/{profile}":    {path: "/v1/ca/ca-a/profiles/web", body: map[string]any{"usage": "signing", "key_usage": []string{"digitalSignature"}, "max_ttl": "720h", "allowed_dns_names": []string{"*.example"}}, allowed: notFound, owner: http.StatusOK},
		"GET /v1/ca/{ca}/profiles/{profile}":    {path: "/v1/ca/ca-a/profiles/default", allowed: notFound, owner: http.StatusOK},
		"DELETE /v1/ca/{ca}/profiles/{profile}": {path: "/v1/ca/ca-a/profiles/web", allowed: notFound, owner: http.StatusNoContent},
		"POST /v1/ca/{ca}/sign-csr":             {path: "/v1/ca/ca-a/sign-csr", body: map[string]string{"csr": fx.csr}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/ca/{ca}/issue":                {path: "/v1/ca/ca-a/issue", body: map[string]any{"key": "sm2-a", "subject": map[string]string{"common_name": "signer"}}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/ca/{ca}/issue-keypair":        {path: "/v1/ca/ca-a/issue-keypair", body: map[string]any{"subject": map[string]string{"common_name": "pair"}, "format": "enveloped", "wrapping_key": fx.publicKey}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/ca/{ca}/issue-dual":           {path: "/v1/ca/ca-a/issue-dual", body: map[string]string{"csr": fx.csr}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/ca/{ca}/revoke":               {path: "/v1/ca/ca-a/revoke", body: map[string]string{"serial": fx.certs[0], "reason": "superseded"}, allowed: notFound, owner: http.StatusOK},
		"GET /v1/certs":                         {path: "/v1/certs", allowed: []int{http.StatusOK}, leaks: fx.certs, owner: http.StatusOK},
		"GET /v1/certs/{serial}":                {path: "/v1/certs/" + fx.certs[1], allowed: notFound, owner: http.StatusOK},
		"POST /v1/certs/{serial}/renew":         {path: "/v1/certs/" + fx.certs[1] + "/renew", body: map[string]any{}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/certs/{serial}/revoke":        {path: "/v1/certs/" + fx.certs[2] + "/revoke", body: map[string]string{"reason": "keyCompromise"}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/certs/{serial}/hold":          {path: "/v1/certs/" + fx.certs[3] + "/hold", allowed: notFound, owner: http.StatusOK},
		"POST /v1/certs/{serial}/release":       {path: "/v1/certs/" + fx.certs[3] + "/release", allowed: notFound, owner: http.StatusOK},
		"POST /v1/cms/sign":                     {path: "/v1/cms/sign", body: map[string]string{"key": "sm2-a", "content": "aGk="}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/cms/add-signer":               {path: "/v1/cms/add-signer", body: map[string]any{"key": "sm2-a", "cms": fx.cms}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/cms/countersign":              {path: "/v1/cms/countersign", body: map[string]any{"key": "sm2-a", "cms": fx.cms, "signer": 0}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/cms/verify":                   {path: "/v1/cms/verify", body: map[string]any{"cms": fx.cms, "trust_cas": []string{"ca-a"}}, allowed: []int{http.StatusOK, http.StatusNotFound}, leaks: []string{`"valid":true`}, owner: http.StatusOK},
		"POST /v1/cms/encrypt":                  {path: "/v1/cms/encrypt", body: map[string]any{"recipients": []string{fx.encCert}, "content": "aGk="}, allowed: []int{http.StatusOK}},
		"POST /v1/cms/decrypt":                  {path: "/v1/cms/decrypt", body: map[string]any{"cms": fx.envelope, "key": "enc-a"}, allowed: notFound, leaks: []string{"aGk="}, owner: http.StatusOK},
		"POST /v1/tsas":                         {path: "/v1/tsas", body: map[string]string{"name": "default", "ca": "ca-a"}, allowed: notFound, owner: http.StatusConflict},
		"GET /v1/tsas":                          {path: "/v1/tsas", allowed: []int{http.StatusOK}, leaks: []string{"default"}, owner: http.StatusOK},
		"POST /v1/tsa":                          {path: "/v1/tsa", body: fx.tsq, header: []string{"Content-Type", "application/timestamp-query"}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/tsa/{name}":                   {path: "/v1/tsa/default", body: fx.tsq, header: []string{"Content-Type", "application/timestamp-query"}, allowed: notFound, owner: http.StatusOK},
		"GET /v1/tsa/{name}/certificate":        {path: "/v1/tsa/default/certificate", allowed: notFound, leaks: []string{"CERTIFICATE"}, owner: http.StatusOK},
		"POST /v1/tsa/verify":                   {path: "/v1/tsa/verify", body: map[string]any{"token": fx.tsr, "data": "aGk=", "trust_cas": []string{"ca-a"}}, allowed: []int{http.StatusOK, http.StatusNotFound}, leaks: []string{`"valid":true`}, owner: http.StatusOK},
		"GET /v1/auth/rules":                    {path: "/v1/auth/rules", allowed: []int{http.StatusOK}, leaks: []string{"rule-a"}, owner: http.StatusOK},
		"PUT /v1/auth/rules/{name}": {path: "/v1/auth/rules/rule-a", body: map[string]any{"match": "subject", "pattern": "*", "policies": []string{"admin"}}, allowed: []int{http.StatusOK},
			check: func(t *testing.T, n *testNode, owner, intruder string) {
				t.Helper()
				if r := n.do("GET", "/v1/auth/rules/rule-a", owner, nil); !strings.Contains(string(r.body), "A's signer") {
					t.Fatalf("tenant B's rule write touched tenant A's: %s", r.body)
				}
				n.do("DELETE", "/v1/auth/rules/rule-a", intruder, nil)
			}},
		"GET /v1/auth/rules/{name}":         {path: "/v1/auth/rules/rule-a", allowed: notFound, owner: http.StatusOK},
		"DELETE /v1/auth/rules/{name}":      {path: "/v1/auth/rules/rule-a", allowed: notFound, owner: http.StatusNoContent},
		"POST /v1/sys/seal":                 {path: "/v1/sys/seal"},
		"POST /v1/sys/rotate":               {path: "/v1/sys/rotate"},
		"GET /v1/sys/key-status":            {path: "/v1/sys/key-status"},
		"GET /v1/tenants/{name}/quota":      {path: "/v1/tenants/tenant-a/quota"},
		"PUT /v1/tenants/{name}/quota":      {path: "/v1/tenants/tenant-b/quota", body: map[string]any{"ops_per_sec": 1000}},
		"GET /v1/sys/devices":               {path: "/v1/sys/devices"},
		"GET /v1/sys/devices/{name}":        {path: "/v1/sys/devices/soft0"},
		"POST /v1/sys/devices/{name}/drain": {path: "/v1/sys/devices/soft0/drain", body: map[string]any{}},
		"POST /v1/tenants":                  {path: "/v1/tenants", body: map[string]string{"name": "intruder"}},
		"GET /v1/tenants":                   {path: "/v1/tenants"},
		"GET /v1/audit/verify":              {path: "/v1/audit/verify"},
		// B sees its own usage, never A's keys or A's calls by tenant.
		"GET /v1/usage":        {path: "/v1/usage?by=key", allowed: []int{http.StatusOK}, leaks: []string{"sm4-a", "sm2-a"}, owner: http.StatusOK},
		"GET /v1/audit/export": {path: "/v1/audit/export"},
		// B finds its own records only; A's are there (the check).
		"GET /v1/audit/records": {path: "/v1/audit/records?limit=1000", allowed: []int{http.StatusOK}, leaks: []string{`"tenant":"tenant-a"`}, owner: http.StatusOK,
			check: func(t *testing.T, n *testNode, owner, intruder string) {
				t.Helper()
				if r := n.do("GET", "/v1/audit/records?tenant=tenant-a", intruder, nil); r.status != http.StatusForbidden {
					t.Errorf("tenant B asking for tenant A's records: %d %s", r.status, r.body)
				}
				var page sdk.AuditRecords
				n.do("GET", "/v1/audit/records?operation=keys.create", owner, nil).json(t, &page)
				if len(page.Items) == 0 || slices.ContainsFunc(page.Items, func(r sdk.AuditRecord) bool { return r.Tenant != "tenant-a" }) {
					t.Fatalf("tenant A's search of its own records: %+v", page.Items)
				}
			}},
		"GET /v1/tokens/self": {path: "/v1/tokens/self", allowed: []int{http.StatusOK}, leaks: []string{fx.accessor}},
		// The node's deployment is the same for every tenant: nothing of A's.
		"GET /v1/sys/deployment": {path: "/v1/sys/deployment", allowed: []int{http.StatusOK}, leaks: []string{fx.accessor, "tenant-a"}, owner: http.StatusOK},
		// A token renews only itself.
		"POST /v1/tokens/self/renew": {path: "/v1/tokens/self/renew", body: map[string]string{}, allowed: []int{http.StatusOK}, leaks: []string{fx.accessor}},
		"DELETE /v1/sys/root-token":  {path: "/v1/sys/root-token"},
		"DELETE /v1/tenants/{name}": {path: "/v1/tenants/tenant-a",
			check: func(t *testing.T, n *testNode, owner, _ string) {
				t.Helper()
				if r := n.do("GET", "/v1/keys", owner, nil); r.status != http.StatusOK {
					t.Fatalf("tenant A after tenant B tried to delete it: %d %s", r.status, r.body)
				}
			}},

		// The V2X deployment "iso" has its root CA, ECA and RA in tenant A.
		"POST /v1/v2x":                          {path: "/v1/v2x", body: map[string]any{"name": "intruder"}},
		"GET /v1/v2x":                           {path: "/v1/v2x"},
		"GET /v1/v2x/{deployment}":              {path: "/v1/v2x/iso"},
		"POST /v1/v2x/{deployment}/migrate":     {path: "/v1/v2x/iso/migrate", body: map[string]any{}},
		"PUT /v1/v2x/{deployment}/devices":      {path: "/v1/v2x/iso/devices", body: map[string]any{"devices": []map[string]string{{"id": "VIN-B"}}}, allowed: notFound, owner: http.StatusNoContent},
		"GET /v1/v2x/{deployment}/devices/{id}": {path: "/v1/v2x/iso/devices/VIN-1", allowed: notFound, leaks: []string{"VIN-1"}, owner: http.StatusOK},
		"POST /v1/v2x/{deployment}/flush":       {path: "/v1/v2x/iso/flush", body: map[string]any{}, allowed: notFound, owner: http.StatusOK},
		"POST /v1/v2x/{deployment}/reports":     {path: "/v1/v2x/iso/reports", body: map[string]any{"certificate": "AA=="}, allowed: notFound},
		"POST /v1/v2x/{deployment}/crls":        {path: "/v1/v2x/iso/crls", body: map[string]any{}, allowed: notFound, owner: http.StatusOK},
		// B's LA of the same name is its own; A's is untouched.
		"POST /v1/v2x-las": {path: "/v1/v2x-las", body: sdk.V2XLARequest{Name: "la-a", ID: "0002", PCA: fx.pca}, allowed: []int{http.StatusCreated},
			check: func(t *testing.T, n *testNode, owner, _ string) {
				t.Helper()
				var la sdk.V2XLA
				if n.do("GET", "/v1/v2x-las/la-a", owner, nil).json(t, &la); la.ID != "0001" {
					t.Fatalf("tenant A's LA changed by tenant B: %+v", la)
				}
			}},
		// B reaches its own la-a, if the case above made it, never A's.
		"GET /v1/v2x-las/{la}":              {path: "/v1/v2x-las/la-a", allowed: []int{http.StatusOK, http.StatusNotFound}, leaks: []string{`"0001"`}, owner: http.StatusOK},
		"POST /v1/v2x-las/{la}/pre-linkage": {path: "/v1/v2x-las/la-a/pre-linkage", body: sdk.V2XPreLinkageRequest{Periods: 1, JMax: 1}, allowed: []int{http.StatusBadRequest, http.StatusNotFound}},
		"POST /v1/v2x-las/{la}/seeds":       {path: "/v1/v2x-las/la-a/seeds", body: sdk.V2XSeedRequest{ELCI: "x"}, allowed: []int{http.StatusBadRequest, http.StatusNotFound}},
	}
}

// TestEveryRouteIsolatesTenants tries every route that needs a token with
// tenant B's admin token against tenant A's objects, and without a token.
func TestEveryRouteIsolatesTenants(t *testing.T) {
	n := newTestNode(t)
	tokA, fx := isolationFixture(t, n)
	tokB := n.tenant("tenant-b")
	cases := isolationCases(fx)

	srv := New(Services{}, nil)
	for _, rt := range srv.routes {
		key := rt.method + " " + rt.pattern
		if rt.scope == scopePublic {
			continue
		}
		tc, ok := cases[key]
		if !ok {
			t.Errorf("route %s has no isolation case: add one to isolationCases", key)
			continue
		}
		t.Run(key, func(t *testing.T) {
			if r := n.do(rt.method, tc.path, "", tc.body, tc.header...); r.status != http.StatusUnauthorized {
				t.Errorf("without a token: %d %s", r.status, r.body)
			}
			allowed := tc.allowed
			if allowed == nil {
				allowed = []int{http.StatusForbidden, http.StatusNotFound}
			}
			r := n.do(rt.method, tc.path, tokB, tc.body, tc.header...)
			if !slices.Contains(allowed, r.status) {
				t.Errorf("tenant B got %d %s, want one of %v", r.status, r.body, allowed)
			}
			for _, leak := range tc.leaks {
				if strings.Contains(string(r.body), leak) {
					t.Errorf("tenant B's answer reveals %q: %s", leak, r.body)
				}
			}
			// Naming tenant A explicitly does not help a tenant token.
			if rt.scope == scopeTenant {
				if r := n.do(rt.method, tc.path, tokB, tc.body, append([]string{TenantHeader, "tenant-a"}, tc.header...)...); r.status != http.StatusForbidden {
					t.Errorf("tenant B naming tenant A: %d %s", r.status, r.body)
				}
			}
			if tc.check != nil {
				tc.check(t, n, tokA, tokB)
			}
			if tc.owner != 0 {
				if r := n.do(rt.method, tc.path, tokA, tc.body, tc.header...); r.status != tc.owner {
					t.Errorf("positive control: tenant A got %d %s, want %d", r.status, r.body, tc.owner)
				}
			}
		})
	}
	for key := range cases {
		if !slices.ContainsFunc(srv.routes, func(rt route) bool { return rt.method+" "+rt.pattern == key }) {
			t.Errorf("isolation case %s matches no route", key)
		}
	}
}

// isolationFixture creates tenant A with the objects that
// isolationCases name, and returns its admin token and the fixture.
func isolationFixture(t *testing.T, n *testNode) (string, tenantFixture) {
	t.Helper()
	tokA := n.tenant("tenant-a")
	r := n.do("PUT", "/v1/policies/secret-policy-a", tokA, map[string]any{"rules": []map[string][]string{{"operations": {"tokens.read"}, "objects": {"*"}}}})
	if r.status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
	r = n.do("POST", "/v1/tokens", tokA, map[string]any{"policies": []string{"admin"}})
	var appA sdk.TokenCreated
	r.json(t, &appA)
	fx := tenantFixture{policy: "secret-policy-a", accessor: appA.Accessor}
	for _, k := range []sdk.CreateKeyRequest{
		{Name: "sm4-a", Type: "sm4", Derived: true}, {Name: "sm2-a", Type: "sm2"}, {Name: "hmac-a", Type: "hmac-sm3"},
		{Name: "zuc-a", Type: "zuc-128"}, {Name: "doomed-a", Type: "sm4"}, {Name: "toggle-a", Type: "sm4"}, {Name: "shared-name", Type: "sm4", Description: "tenant a's"},
		{Name: "export-a", Type: "sm4", Exportable: true},
		{Name: "kgc-a", Type: "sm9-sign-master"}, {Name: "ekgc-a", Type: "sm9-enc-master"},
	} {
		if r := n.do("POST", "/v1/keys", tokA, k); r.status != http.StatusCreated {
			t.Fatalf("key %s: %d %s", k.Name, r.status, r.body)
		}
	}
	n.do("POST", "/v1/aliases", tokA, map[string]string{"name": "alias:a", "target": "sm4-a"})
	var enc sdk.EncryptResult
	n.do("POST", "/v1/keys/sm4-a/encrypt", tokA, map[string]string{"plaintext": "aGk="}).json(t, &enc)
	var sig sdk.SignResult
	n.do("POST", "/v1/keys/sm2-a/sign", tokA, map[string]string{"input": "aGk="}).json(t, &sig)
	var mac sdk.MACResult
	n.do("POST", "/v1/keys/hmac-a/mac", tokA, map[string]string{"input": "aGk="}).json(t, &mac)
	var backup backupAnswer
	n.do("POST", "/v1/keys/export-a/backup", tokA, map[string]string{"password": "correct horse battery"}).json(t, &backup)
	var tsig sdk.TSIGSignResult
	n.do("POST", "/v1/keys/hmac-a/tsig/sign", tokA, map[string]any{"message": dnsQuery()}).json(t, &tsig)
	fx.ciphertext, fx.signature, fx.mac, fx.backup, fx.tsig = enc.Ciphertext, sig.Signature, mac.MAC, backup.Backup, tsig.Message
	fx.publicKey = string(n.do("GET", "/v1/keys/sm2-a/public", tokA, nil).body)
	sm9Fixture(t, n, tokA, &fx)
	caFixture(t, n, tokA, &fx)
	fx.pca = v2xFixture(t, n, tokA)
	return tokA, fx
}

// sm9Fixture gives tenant A's KGCs kgc-a and ekgc-a a hosted identity
// "dev-a" each, a signature by it and a ciphertext to it.
func sm9Fixture(t *testing.T, n *testNode, tokA string, fx *tenantFixture) {
	t.Helper()
	for _, kgc := range []string{"kgc-a", "ekgc-a"} {
		if r := n.do("POST", "/v1/keys/"+kgc+"/sm9/extract", tokA, map[string]any{"id": "dev-a", "deliver": map[string]bool{"hosted": true}}); r.status != http.StatusOK {
			t.Fatalf("extract at %s: %d %s", kgc, r.status, r.body)
		}
	}
	var sig sdk.SM9SignResult
	n.do("POST", "/v1/keys/kgc-a/sm9/sign", tokA, map[string]string{"id": "dev-a", "input": "aGk="}).json(t, &sig)
	var ct sdk.SM9EncryptResult
	n.do("POST", "/v1/keys/ekgc-a/sm9/encrypt", tokA, map[string]string{"id": "dev-a", "plaintext": "aGk="}).json(t, &ct)
	var enc sdk.SM9Encapsulated
	n.do("POST", "/v1/keys/ekgc-a/sm9/encapsulate", tokA, map[string]any{"id": "dev-a", "length": 16}).json(t, &enc)
	if r := n.do("POST", "/v1/keys/ekgc-a/sm9/extract", tokA, map[string]any{"id": "dev-a", "hid": 2, "deliver": map[string]bool{"hosted": true}}); r.status != http.StatusOK {
		t.Fatalf("extract for the key exchange: %d %s", r.status, r.body)
	}
	fx.sm9sig, fx.sm9ct, fx.sm9enc = sig.Signature, ct.Ciphertext, enc.Encapsulation
}

// caFixture gives tenant A a root CA ca-a (and shared-ca), a certificate
// for its key sm2-a, and four certificates from a CSR.
func caFixture(t *testing.T, n *testNode, tokA string, fx *tenantFixture) {
	t.Helper()
	for name, cn := range map[string]string{"ca-a": "A's CA", "shared-ca": "A's CA too"} {
		r := n.do("POST", "/v1/ca", tokA, map[string]any{"name": name, "type": "root", "subject": map[string]string{"common_name": cn}})
		if r.status != http.StatusCreated {
			t.Fatalf("CA %s: %d %s", name, r.status, r.body)
		}
	}
	if r := n.do("POST", "/v1/ca/ca-a/issue", tokA, map[string]any{"key": "sm2-a", "subject": map[string]string{"common_name": "A's signer"}}); r.status != http.StatusOK {
		t.Fatalf("issue for sm2-a: %d %s", r.status, r.body)
	}
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := smx509.CreateCertificateRequest(rand.Reader, &smx509.CertificateRequest{Subject: pkix.Name{CommonName: "leaf.example"}}, priv)
	if err != nil {
		t.Fatal(err)
	}
	fx.csr = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	var leaf sdk.Certificate
	for range 4 {
		r := n.do("POST", "/v1/ca/ca-a/sign-csr", tokA, map[string]string{"csr": fx.csr})
		r.json(t, &leaf)
		if r.status != http.StatusOK {
			t.Fatalf("sign-csr: %d %s", r.status, r.body)
		}
		fx.certs = append(fx.certs, leaf.Serial)
	}
	var ca sdk.CA
	n.do("GET", "/v1/ca/ca-a", tokA, nil).json(t, &ca)
	fx.ocsp = ocspRequest(t, leaf.Certificate, ca.Certificate)

	// Signatures, an envelope, a TSA and a login rule.
	var signed cmsAnswer
	n.do("POST", "/v1/cms/sign", tokA, map[string]string{"key": "sm2-a", "content": "aGk="}).json(t, &signed)
	if r := n.do("POST", "/v1/keys", tokA, map[string]string{"name": "enc-a", "type": "sm2"}); r.status != http.StatusCreated {
		t.Fatalf("enc-a: %d %s", r.status, r.body)
	}
	var enc sdk.Certificate
	n.do("POST", "/v1/ca/ca-a/issue", tokA, map[string]any{"key": "enc-a", "profile": "default-encryption", "subject": map[string]string{"common_name": "A's encryption"}}).json(t, &enc)
	var env cmsAnswer
	n.do("POST", "/v1/cms/encrypt", tokA, map[string]any{"recipients": []string{enc.Certificate}, "content": "aGk="}).json(t, &env)
	if r := n.do("POST", "/v1/tsas", tokA, map[string]string{"name": "default", "ca": "ca-a"}); r.status != http.StatusCreated {
		t.Fatalf("TSA: %d %s", r.status, r.body)
	}
	tsq, _, err := cms.NewTimestampRequest(rand.Reader, strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	tsr := n.do("POST", "/v1/tsa", tokA, tsq, "Content-Type", "application/timestamp-query")
	if r := n.do("PUT", "/v1/auth/rules/rule-a", tokA, map[string]any{"match": "subject", "pattern": "*A's signer*", "policies": []string{"admin"}}); r.status != http.StatusOK {
		t.Fatalf("login rule: %d %s", r.status, r.body)
	}
	fx.cms, fx.envelope, fx.encCert, fx.tsq, fx.tsr = signed.CMS, env.CMS, enc.Certificate, tsq, tsr.body
}

// ocspRequest builds an OCSP request for a certificate (PEM) of an issuer
// (PEM).
func ocspRequest(t *testing.T, certPEM, issuerPEM string) []byte {
	t.Helper()
	parse := func(s string) *smx509.Certificate {
		b, _ := pem.Decode([]byte(s))
		c, err := smx509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	req, err := pki.NewOCSPRequest(parse(certPEM), parse(issuerPEM), nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// ocspUnauthorized checks that tenant B's OCSP answer for tenant A's CA is
// the bare "unauthorized" OCSPResponse.
func ocspUnauthorized(fx tenantFixture) func(t *testing.T, n *testNode, owner, intruder string) {
	return func(t *testing.T, n *testNode, _, intruder string) {
		t.Helper()
		r := n.do("POST", "/v1/ca/ca-a/ocsp", intruder, fx.ocsp)
		if !bytes.Equal(r.body, []byte{0x30, 0x03, 0x0a, 0x01, 0x06}) {
			t.Fatalf("tenant B's OCSP answer for tenant A's CA: % x", r.body)
		}
	}
}

// v2xFixture creates deployment "iso" with its root CA, ECA and RA in
// tenant A, allows device VIN-1, and makes tenant A a standalone LA la-a
// for it; it returns the deployment's PCA certificate.
func v2xFixture(t *testing.T, n *testNode, tokA string) []byte {
	t.Helper()
	for _, tn := range []string{"v2x-la1", "v2x-la2", "v2x-pca", "v2x-ma"} {
		n.tenant(tn)
	}
	r := n.do("POST", "/v1/v2x", n.root, sdk.V2XDeploymentRequest{Name: "iso", Tenants: sdk.V2XTenants{
		Root: "tenant-a", ECA: "tenant-a", RA: "tenant-a", LA1: "v2x-la1", LA2: "v2x-la2", PCA: "v2x-pca", MA: "v2x-ma",
	}})
	if r.status != http.StatusCreated {
		t.Fatalf("V2X deployment: %d %s", r.status, r.body)
	}
	if r := n.do("PUT", "/v1/v2x/iso/devices", tokA, sdk.V2XDevices{Devices: []sdk.V2XDevice{{ID: "VIN-1"}}}); r.status != http.StatusNoContent {
		t.Fatalf("V2X device: %d %s", r.status, r.body)
	}
	var dep sdk.V2XDeployment
	r.json(t, &dep)
	pca := dep.Certificates["pca"]
	if r := n.do("POST", "/v1/v2x-las", tokA, sdk.V2XLARequest{Name: "la-a", ID: "0001", PCA: pca}); r.status != http.StatusCreated {
		t.Fatalf("V2X LA: %d %s", r.status, r.body)
	}
	return pca
}
