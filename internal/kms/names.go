package kms

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/fault"
)

// AliasPrefix starts every alias name: "alias:<name>" may be given
// wherever a key name is accepted.
const AliasPrefix = "alias:"

// maxNameLen bounds key and alias names (the alias name after AliasPrefix).
const maxNameLen = 128

// nameRule says what ValidName accepts, for error messages.
const nameRule = `1 to 128 characters of a-z, A-Z, 0-9, '.', '_' and '-', other than "." and ".."`

// ValidName reports whether name is a valid key name, or alias name after
// AliasPrefix: 1 to 128 characters of a-z, A-Z, 0-9, '.', '_' and '-',
// other than "." and ".." (see authn.DotSegment).
func ValidName(name string) bool {
	if name == "" || len(name) > maxNameLen || authn.DotSegment(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// cutAlias returns the alias name of ref and whether ref names an alias.
func cutAlias(ref string) (string, bool) { return strings.CutPrefix(ref, AliasPrefix) }

func checkTenant(tenant string) error {
	if !authn.ValidName(tenant) {
		return fault.Invalid("invalid tenant name")
	}
	return nil
}

func checkName(name string) error {
	if !ValidName(name) {
		return fault.Invalid("key name %q is invalid: use "+nameRule, name)
	}
	return nil
}

// Storage paths, relative to the barrier.
const (
	dueRoot    = "kms/due/"
	dueDestroy = "destroy"
	dueRotate  = "rotate"
	dueImport  = "import"
)

func tombstonePath(tenant, name string) string { return "t/" + tenant + "/destroyed/" + name }
func importPath(tenant, token string) string   { return "t/" + tenant + "/import/" + token }

// duePath schedules job for the key at time at, rounded up to the second so
// that an entry listed as due is never early.
func duePath(job string, at time.Time, tenant, name string) string {
	secs := at.Unix()
	if at.Nanosecond() > 0 {
		secs++
	}
	return fmt.Sprintf("%s%s/%020d/%s/%s", dueRoot, job, secs, tenant, name)
}

// parseDue splits a path made by duePath.
func parseDue(path string) (job string, at int64, tenant, name string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, dueRoot), "/")
	if len(parts) != 4 || len(parts[1]) != 20 {
		return "", 0, "", "", false
	}
	at, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", 0, "", "", false
	}
	return parts[0], at, parts[2], parts[3], true
}
