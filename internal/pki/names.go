package pki

import (
	"fmt"
	"time"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

func checkTenant(tenant string) error {
	if !authn.ValidName(tenant) {
		return fault.Invalid("invalid tenant name")
	}
	return nil
}

// checkNewName checks the name of a new CA or profile.
func checkNewName(what, name string) error {
	if !authn.ValidName(name) {
		return fault.Invalid("%s name %q is invalid: use 1 to 63 characters of a-z, 0-9, '-' and '_', starting with a letter or digit", what, name)
	}
	return nil
}

// Storage paths, relative to the barrier.
const dueCRLRoot = "pki/due/crl/"

func certPrefix(tenant string) string        { return paths.PKI(tenant) + "certs/" }
func certPath(tenant, serial string) string  { return certPrefix(tenant) + serial }
func revokedPrefix(tenant, ca string) string { return paths.PKI(tenant) + "revoked/" + ca + "/" }
func expiryPrefix(tenant string) string      { return paths.PKI(tenant) + "expiry/" }
func keyCertPath(tenant, key string) string  { return paths.PKI(tenant) + "keycerts/" + key }
func crlPath(tenant, ca string) string       { return paths.PKI(tenant) + "crls/" + ca }

// unixPath formats t as 20-digit seconds, rounded up so that an entry
// listed as due is never early.
func unixPath(t time.Time) string {
	secs := t.Unix()
	if t.Nanosecond() > 0 {
		secs++
	}
	return fmt.Sprintf("%020d", secs)
}

func expiryPath(tenant string, notAfter time.Time, serial string) string {
	return expiryPrefix(tenant) + unixPath(notAfter) + "/" + serial
}

// revokedPath is the CRL entry of a revoked or held certificate: its
// serial, revocation time and reason are all in the path, so that one List
// reads a whole CRL.
func revokedPath(tenant string, c *Certificate) string {
	return revokedPrefix(tenant, c.CA) + c.Serial + "/" + unixPath(c.RevokedAt) + "/" + string(c.Reason)
}

func dueCRLPath(at time.Time, tenant, ca string) string {
	return dueCRLRoot + unixPath(at) + "/" + tenant + "/" + ca
}
