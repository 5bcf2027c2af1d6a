package pki

import (
	"slices"
	"strings"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/fault"
)

// Usage says what a profile's certificates are for.
type Usage string

// Usages. Under GM/T 0015 a subscriber holds a signing certificate for a
// key pair of its own and an encryption certificate for a key pair the CA
// generates and escrows (see IssueDual).
const (
	Signing    Usage = "signing"
	Encryption Usage = "encryption"
)

// keyUsages names the key usage bits a profile may list (RFC 5280 section
// 4.2.1.3), and the usage they belong to.
var keyUsages = map[string]struct {
	bit   smx509.KeyUsage
	usage Usage
	ca    bool // only for CA profiles
}{
	"digitalSignature":  {smx509.KeyUsageDigitalSignature, Signing, false},
	"contentCommitment": {smx509.KeyUsageContentCommitment, Signing, false},
	"certSign":          {smx509.KeyUsageCertSign, Signing, true},
	"crlSign":           {smx509.KeyUsageCRLSign, Signing, true},
	"keyEncipherment":   {smx509.KeyUsageKeyEncipherment, Encryption, false},
	"dataEncipherment":  {smx509.KeyUsageDataEncipherment, Encryption, false},
	"keyAgreement":      {smx509.KeyUsageKeyAgreement, Encryption, false},
}

// extKeyUsages names the extended key usages a profile may list.
var extKeyUsages = map[string]smx509.ExtKeyUsage{
	"any":             smx509.ExtKeyUsageAny,
	"serverAuth":      smx509.ExtKeyUsageServerAuth,
	"clientAuth":      smx509.ExtKeyUsageClientAuth,
	"codeSigning":     smx509.ExtKeyUsageCodeSigning,
	"emailProtection": smx509.ExtKeyUsageEmailProtection,
	"timeStamping":    smx509.ExtKeyUsageTimeStamping,
	"ocspSigning":     smx509.ExtKeyUsageOCSPSigning,
}

// keyUsageOf returns the key usage bits of names, checked against usage.
func keyUsageOf(names []string, usage Usage, ca bool) (smx509.KeyUsage, error) {
	if len(names) == 0 {
		return 0, fault.Invalid("a profile lists at least one key usage")
	}
	var ku smx509.KeyUsage
	for _, n := range names {
		k, ok := keyUsages[n]
		switch {
		case !ok:
			return 0, fault.Invalid("unknown key usage %q; known are %s", n, strings.Join(sortedKeys(keyUsages), ", "))
		case k.usage != usage:
			return 0, fault.Invalid("key usage %s is for %s certificates, not %s", n, k.usage, usage)
		case k.ca && !ca:
			return 0, fault.Invalid("key usage %s is only for CA profiles", n)
		}
		ku |= k.bit
	}
	if ca {
		ku |= smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign
	}
	return ku, nil
}

// extKeyUsageOf returns the extended key usages of names.
func extKeyUsageOf(names []string) ([]smx509.ExtKeyUsage, error) {
	var ekus []smx509.ExtKeyUsage
	for _, n := range names {
		e, ok := extKeyUsages[n]
		if !ok {
			return nil, fault.Invalid("unknown extended key usage %q; known are %s", n, strings.Join(sortedKeys(extKeyUsages), ", "))
		}
		ekus = append(ekus, e)
	}
	return ekus, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
