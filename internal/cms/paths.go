package cms

import (
	"github.com/mimacrypto/mima/internal/authn"

	"github.com/mimacrypto/mima/internal/fault"
)

// Storage paths, relative to the barrier.
func tsaSerialPath(tenant, name string) string { return "t/" + tenant + "/cms/tsa-serials/" + name }
func loginRulePrefix(tenant string) string     { return "t/" + tenant + "/cms/login-rules/" }
func loginRulePath(tenant, name string) string { return loginRulePrefix(tenant) + name }

func checkTenant(tenant string) error {
	if !authn.ValidName(tenant) {
		return fault.Invalid("invalid tenant name")
	}
	return nil
}

// checkName checks the name of a TSA or login rule: 1 to 63 characters of
// a-z, 0-9, '-' and '_', starting with a letter or digit.
func checkName(what, name string) error {
	if !authn.ValidName(name) {
		return fault.Invalid("%s name %q is invalid: use 1 to 63 characters of a-z, 0-9, '-' and '_', starting with a letter or digit", what, name)
	}
	return nil
}
