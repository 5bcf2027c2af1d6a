package compliance

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/sdk"
)

// Fact is one observation of the live system: a value that checks compare,
// and the evidence shown with it. Missing says why it could not be
// observed (the token may not see it).
type Fact struct {
	Value    any
	Evidence string
	Missing  string
}

// Facts are observations by name.
type Facts map[string]Fact

// ExpiryWindow is how soon a certificate must expire to be reported.
const ExpiryWindow = 30 * 24 * time.Hour

// UnusedWindow is how long after its creation a live token that has never
// been used is reported.
const UnusedWindow = 30 * 24 * time.Hour

// Gather observes the system through c, with c's token and tenant.
// encrypted says whether c reaches the server over TLS or TLCP; it decides
// the transport only when the server does not report its listeners (to
// this token: GET /v1/sys/deployment). It fails only when the server
// cannot be reached; what the token may not see becomes a missing fact.
func Gather(ctx context.Context, c *sdk.Client, encrypted bool, now time.Time) (Facts, error) {
	h, err := c.Sys().Health(ctx)
	if _, answered := errors.AsType[*sdk.APIError](err); err != nil && !answered {
		return nil, fmt.Errorf("compliance: reaching the server: %w", err)
	}
	d, _ := c.Sys().Deployment(ctx) // without it, judged by what health and this connection show
	f := Facts{"transport.encrypted": transport(d.Listeners, encrypted)}
	gatherRoot(h, d, err, f)
	gatherKeys(ctx, c, now, f)
	gatherCerts(ctx, c, now, f)
	gatherAudit(ctx, c, now, f)
	gatherAccess(ctx, c, now, f)
	return f, nil
}

// transport is whether no listener serves plain HTTP off loopback, each
// listener named. Without listeners (a server that does not report them)
// it is whether this report's own connection is encrypted.
func transport(listeners []sdk.Listener, encrypted bool) Fact {
	if len(listeners) == 0 {
		return Fact{Value: encrypted, Evidence: transportEvidence(encrypted)}
	}
	ok := true
	names := make([]string, len(listeners))
	for i, l := range listeners {
		names[i] = l.Addr + " (" + l.Protocol + ")"
		if !slices.Contains([]string{sdk.ProtocolTLS, sdk.ProtocolTLCP, sdk.ProtocolTLSTLCP}, l.Protocol) && !loopback(l.Addr) {
			ok = false
			names[i] += " unencrypted off loopback"
		}
	}
	return Fact{Value: ok, Evidence: "listeners: " + strings.Join(names, ", ") + "; " + transportEvidence(encrypted)}
}

// loopback reports whether a configured listen address (host:port) is on
// a loopback interface only; an empty host is every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return host == "localhost" || (err == nil && ip.IsLoopback())
}

func transportEvidence(encrypted bool) string {
	if encrypted {
		return "this report was gathered over TLS or TLCP"
	}
	return "this report was gathered over plain HTTP"
}

// missing records that every named fact could not be observed.
func (f Facts) missing(err error, names ...string) {
	why := "could not be observed: " + err.Error()
	if e, answered := errors.AsType[*sdk.APIError](err); answered {
		why = "not visible to this token (" + e.Code + ")"
	}
	for _, n := range names {
		f[n] = Fact{Missing: why}
	}
}

func gatherRoot(h sdk.Health, d sdk.Deployment, err error, f Facts) {
	if err != nil {
		f.missing(err, "root.threshold", "root.unattended")
		return
	}
	f["root.threshold"] = Fact{Value: h.Threshold, Evidence: fmt.Sprintf("%d of %d key shares unseal the root key", h.Threshold, h.Shares)}
	f["root.unattended"] = rootUnattended(h, d.SealType)
}

// rootUnattended is whether the root key is unsealed unattended from a KEK
// file, with the seal named; an HSM seal is not. Without the seal type (a
// server that does not report it to this token) it is judged by the
// unattended flag of health.
func rootUnattended(h sdk.Health, seal string) Fact {
	switch {
	case seal == sdk.SealPKCS11:
		return Fact{Value: false, Evidence: "the root key is wrapped by a key in an HSM (PKCS#11 seal), not a KEK file"}
	case seal == sdk.SealKEK:
		return Fact{Value: true, Evidence: "the root key is unsealed unattended from a KEK file"}
	case seal == sdk.SealShares, seal == "" && !h.Unattended:
		return Fact{Value: false, Evidence: fmt.Sprintf("the root key is unsealed with %d of %d key shares", h.Threshold, h.Shares)}
	}
	return Fact{Value: h.Unattended, Evidence: fmt.Sprintf("unattended unseal: %v; the server does not say whether from a KEK file or an HSM (seal %q)", h.Unattended, seal)}
}

// approvedKeyType reports whether a key type is a ShangMi algorithm.
func approvedKeyType(t sdk.KeyType) bool {
	return strings.HasPrefix(string(t), "sm") || t == sdk.KeyTypeHMACSM3 || strings.HasPrefix(string(t), "zuc")
}

func gatherKeys(ctx context.Context, c *sdk.Client, now time.Time, f Facts) {
	var nonSM, noPeriod, overdue []string
	total := 0
	opts := sdk.ListKeysOptions{}
	for {
		page, err := c.Keys().List(ctx, opts)
		if err != nil {
			f.missing(err, "keys.non_sm", "keys.no_rotation_period", "keys.rotation_overdue")
			return
		}
		for _, k := range page.Keys {
			total++
			if !approvedKeyType(k.Type) {
				nonSM = append(nonSM, k.Name+" ("+string(k.Type)+")")
			}
			if k.State == sdk.KeyEnabled && k.Type != sdk.KeyTypeSM2 && k.AutoRotatePeriod == "" {
				noPeriod = append(noPeriod, k.Name)
			}
			if k.NextRotation != nil && k.NextRotation.Before(now) {
				overdue = append(overdue, k.Name)
			}
		}
		if page.Next == "" {
			break
		}
		opts.After = page.Next
	}
	f["keys.non_sm"] = countFact(nonSM, total, "keys", "not of a ShangMi type")
	f["keys.no_rotation_period"] = countFact(noPeriod, total, "keys", "enabled symmetric keys without a rotation period")
	f["keys.rotation_overdue"] = countFact(overdue, total, "keys", "past their rotation date")
}

// countFact is a count of offending objects, with up to five named.
func countFact(bad []string, total int, what, why string) Fact {
	ev := fmt.Sprintf("%d of %d %s %s", len(bad), total, what, why)
	if len(bad) > 0 {
		ev += ": " + strings.Join(bad[:min(5, len(bad))], ", ")
		if len(bad) > 5 {
			ev += ", …"
		}
	}
	return Fact{Value: len(bad), Evidence: ev}
}

func gatherCerts(ctx context.Context, c *sdk.Client, now time.Time, f Facts) {
	var nonSM, expiring []string
	total := 0
	q := sdk.CertificatesQuery{State: "valid"}
	for {
		page, err := c.Certs().List(ctx, q)
		if err != nil {
			f.missing(err, "certs.non_sm", "certs.expiring")
			return
		}
		for _, cert := range page.Certificates {
			total++
			if !sm2WithSM3(cert.Certificate) {
				nonSM = append(nonSM, cert.Serial)
			}
			if cert.NotAfter.Before(now.Add(ExpiryWindow)) {
				expiring = append(expiring, cert.Serial+" ("+cert.NotAfter.Format(time.DateOnly)+")")
			}
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	f["certs.non_sm"] = countFact(nonSM, total, "valid certificates", "not signed with SM2/SM3")
	f["certs.expiring"] = countFact(expiring, total, "valid certificates", "expiring within 30 days")
}

// sm2WithSM3 reports whether a PEM certificate is signed with SM2/SM3.
func sm2WithSM3(certPEM string) bool {
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil {
		return false
	}
	cert, err := smx509.ParseCertificate(b.Bytes)
	return err == nil && cert.SignatureAlgorithm == smx509.SM2WithSM3
}

func gatherAudit(ctx context.Context, c *sdk.Client, now time.Time, f Facts) {
	rep, err := c.Sys().VerifyAudit(ctx)
	if err != nil {
		f.missing(err, "audit.ok", "audit.checkpoint_age_hours", "audit.witnessed")
		return
	}
	ev := fmt.Sprintf("%d records, %d checkpoints, verified: %v", rep.Records, rep.Checkpoints, rep.OK)
	if rep.FirstBad != nil {
		ev += fmt.Sprintf("; first bad record: %+v", *rep.FirstBad)
	}
	f["audit.ok"] = Fact{Value: rep.OK, Evidence: ev}
	if rep.LastCheckpointTime.IsZero() {
		f["audit.checkpoint_age_hours"] = Fact{Value: float64(1 << 30), Evidence: "no checkpoint yet"}
	} else {
		age := now.Sub(rep.LastCheckpointTime)
		f["audit.checkpoint_age_hours"] = Fact{Value: age.Hours(), Evidence: fmt.Sprintf("last checkpoint %d at %s (%s ago), %d records after it",
			rep.LastCheckpointSeq, rep.LastCheckpointTime.Format(time.RFC3339), age.Round(time.Minute), rep.AfterCheckpoint)}
	}
	f["audit.witnessed"] = Fact{Value: rep.ExternalCheckpointSeq > 0, Evidence: fmt.Sprintf("newest checkpoint known outside the log: %d", rep.ExternalCheckpointSeq)}
}

func gatherAccess(ctx context.Context, c *sdk.Client, now time.Time, f Facts) {
	if rules, err := c.Auth().ListLoginRules(ctx); err != nil {
		f.missing(err, "identity.login_rules")
	} else {
		names := make([]string, len(rules))
		for i, r := range rules {
			names[i] = r.Name
		}
		f["identity.login_rules"] = Fact{Value: len(rules), Evidence: fmt.Sprintf("%d certificate login rules: %s", len(rules), strings.Join(names, ", "))}
	}
	if names, err := c.Auth().ListPolicies(ctx); err != nil {
		f.missing(err, "access.wildcard_policies")
	} else {
		var wild []string
		for _, n := range names {
			if n == "admin" { // built in: it grants everything by design
				continue
			}
			p, err := c.Auth().GetPolicy(ctx, n)
			if err != nil {
				f.missing(err, "access.wildcard_policies")
				break
			}
			if slices.ContainsFunc(p.Rules, func(r sdk.Rule) bool { return slices.Contains(r.Operations, "*") }) {
				wild = append(wild, n)
			}
		}
		if _, failed := f["access.wildcard_policies"]; !failed {
			f["access.wildcard_policies"] = countFact(wild, len(names), "policies", "granting every operation")
		}
	}
	var admins, unused []string
	live := 0
	for t, err := range c.Auth().AllTokens(ctx) {
		if err != nil {
			f.missing(err, "access.admin_tokens", "access.unused_tokens")
			return
		}
		if !t.RevokedAt.IsZero() || !t.ExpiresAt.IsZero() && !t.ExpiresAt.After(now) {
			continue
		}
		live++
		if t.Root || slices.Contains(t.Policies, "admin") {
			admins = append(admins, t.Accessor)
		}
		if t.LastUsedAt.IsZero() && now.Sub(t.CreatedAt) > UnusedWindow {
			unused = append(unused, t.Accessor)
		}
	}
	f["access.admin_tokens"] = Fact{Value: len(admins), Evidence: fmt.Sprintf("%d live tokens hold the admin policy", len(admins))}
	f["access.unused_tokens"] = countFact(unused, live, "live tokens", "never used within 30 days of creation")
}
