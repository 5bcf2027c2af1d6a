// Package paths builds and parses the storage paths (relative to the
// barrier) of the records that services cache, in one place. Each record
// kind is a type whose String is its path and whose Parse function reads
// a path back, so that a cache keyed by the type forgets an entry from the
// path of a change reported by another node (see internal/cache).
//
// These strings are the on-disk layout: existing data is found by them,
// and paths_test.go pins every one. Names in a path are one segment each
// (no "/"), as the services' name rules ensure.
package paths

import "strings"

// Key is the record of a key: t/<tenant>/keys/<name>.
type Key struct{ Tenant, Name string }

// Alias is the record of a key alias: t/<tenant>/aliases/<name>.
type Alias struct{ Tenant, Name string }

// Policy is the record of a policy: t/<tenant>/policies/<name>.
type Policy struct{ Tenant, Name string }

// CA is the record of a certificate authority: t/<tenant>/pki/cas/<name>.
type CA struct{ Tenant, Name string }

// Profile is the record of a certificate profile of a CA:
// t/<tenant>/pki/profiles/<ca>/<name>.
type Profile struct{ Tenant, CA, Name string }

// TSA is the record of a time-stamping authority: t/<tenant>/cms/tsas/<name>.
type TSA struct{ Tenant, Name string }

// Tenant is the record of a tenant: tenants/<name>.
type Tenant struct{ Name string }

// Token is the record of a token: tokens/<accessor>.
type Token struct{ Accessor string }

// Deployment is the record of a V2X deployment: v2x/deployments/<name>.
type Deployment struct{ Name string }

// Prefixes of the records of each kind, for List.
const (
	Tenants     = "tenants/"
	Tokens      = "tokens/"
	Deployments = "v2x/deployments/"
)

// TenantRoot is the prefix of everything a tenant owns: t/<tenant>/.
func TenantRoot(tenant string) string { return "t/" + tenant + "/" }

// Keys is the prefix of a tenant's keys.
func Keys(tenant string) string { return TenantRoot(tenant) + "keys/" }

// Aliases is the prefix of a tenant's aliases.
func Aliases(tenant string) string { return TenantRoot(tenant) + "aliases/" }

// Policies is the prefix of a tenant's policies.
func Policies(tenant string) string { return TenantRoot(tenant) + "policies/" }

// PKI is the prefix of a tenant's certificate authority records.
func PKI(tenant string) string { return TenantRoot(tenant) + "pki/" }

// CAs is the prefix of a tenant's CAs.
func CAs(tenant string) string { return PKI(tenant) + "cas/" }

// Profiles is the prefix of the profiles of a tenant's CA.
func Profiles(tenant, ca string) string { return PKI(tenant) + "profiles/" + ca + "/" }

// TSAs is the prefix of a tenant's TSAs.
func TSAs(tenant string) string { return TenantRoot(tenant) + "cms/tsas/" }

func (p Key) String() string        { return Keys(p.Tenant) + p.Name }
func (p Alias) String() string      { return Aliases(p.Tenant) + p.Name }
func (p Policy) String() string     { return Policies(p.Tenant) + p.Name }
func (p CA) String() string         { return CAs(p.Tenant) + p.Name }
func (p Profile) String() string    { return Profiles(p.Tenant, p.CA) + p.Name }
func (p TSA) String() string        { return TSAs(p.Tenant) + p.Name }
func (p Tenant) String() string     { return Tenants + p.Name }
func (p Token) String() string      { return Tokens + p.Accessor }
func (p Deployment) String() string { return Deployments + p.Name }

// ParseKey reads a path made by Key.String.
func ParseKey(path string) (Key, bool) {
	v, ok := match(path, "t", "", "keys", "")
	return Key{v[0], v[1]}, ok
}

// ParseAlias reads a path made by Alias.String.
func ParseAlias(path string) (Alias, bool) {
	v, ok := match(path, "t", "", "aliases", "")
	return Alias{v[0], v[1]}, ok
}

// ParsePolicy reads a path made by Policy.String.
func ParsePolicy(path string) (Policy, bool) {
	v, ok := match(path, "t", "", "policies", "")
	return Policy{v[0], v[1]}, ok
}

// ParseCA reads a path made by CA.String.
func ParseCA(path string) (CA, bool) {
	v, ok := match(path, "t", "", "pki", "cas", "")
	return CA{v[0], v[1]}, ok
}

// ParseProfile reads a path made by Profile.String.
func ParseProfile(path string) (Profile, bool) {
	v, ok := match(path, "t", "", "pki", "profiles", "", "")
	return Profile{v[0], v[1], v[2]}, ok
}

// ParseTSA reads a path made by TSA.String.
func ParseTSA(path string) (TSA, bool) {
	v, ok := match(path, "t", "", "cms", "tsas", "")
	return TSA{v[0], v[1]}, ok
}

// ParseTenant reads a path made by Tenant.String.
func ParseTenant(path string) (Tenant, bool) {
	v, ok := match(path, "tenants", "")
	return Tenant{v[0]}, ok
}

// ParseToken reads a path made by Token.String.
func ParseToken(path string) (Token, bool) {
	v, ok := match(path, "tokens", "")
	return Token{v[0]}, ok
}

// ParseDeployment reads a path made by Deployment.String.
func ParseDeployment(path string) (Deployment, bool) {
	v, ok := match(path, "v2x", "deployments", "")
	return Deployment{v[0]}, ok
}

// maxVars is the most variable segments of any pattern.
const maxVars = 3

// match splits path at "/" and matches it against pattern, one segment
// each: "" stands for a variable, any non-empty segment; others must be
// equal. It returns the variables in order; on no match, ok is false and
// the variables are empty.
func match(path string, pattern ...string) (vars [maxVars]string, ok bool) {
	n := 0
	for i, want := range pattern {
		seg, rest, more := strings.Cut(path, "/")
		if more != (i < len(pattern)-1) || seg == "" || want != "" && seg != want {
			return [maxVars]string{}, false
		}
		if want == "" {
			vars[n] = seg
			n++
		}
		path = rest
	}
	return vars, true
}
