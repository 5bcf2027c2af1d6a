package pki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// The profiles every CA has. SetProfile may change them; DeleteProfile
// restores their built-in rules.
const (
	// DefaultProfile issues TLS server and client certificates and
	// signing certificates (digitalSignature, contentCommitment;
	// serverAuth, clientAuth) for any name, valid up to 398 days, 90 by
	// default.
	DefaultProfile = "default"
	// DefaultEncryptionProfile issues encryption certificates
	// (keyEncipherment, dataEncipherment, keyAgreement; serverAuth,
	// clientAuth) for any name, with the same validities: the encryption
	// half of IssueDual.
	DefaultEncryptionProfile = "default-encryption"
)

// builtinProfile returns the built-in rules of name, if it is built in.
func builtinProfile(name string) (Profile, bool) {
	p := Profile{
		Name: name, Usage: Signing,
		KeyUsage:    []string{"digitalSignature", "contentCommitment"},
		ExtKeyUsage: []string{"serverAuth", "clientAuth"},
		MaxTTL:      398 * 24 * time.Hour, DefaultTTL: defaultProfileTTL,
		AllowedCommonNames: []string{"**"}, AllowedDNSNames: []string{"**"},
		AllowedEmails: []string{"**"}, AllowedURIs: []string{"**"},
		AllowedIPs: []string{"0.0.0.0/0", "::/0"},
	}
	switch name {
	case DefaultProfile:
		return p, true
	case DefaultEncryptionProfile:
		p.Usage, p.KeyUsage = Encryption, []string{"keyEncipherment", "dataEncipherment", "keyAgreement"}
		return p, true
	}
	return Profile{}, false
}

// loadProfile returns a profile of a CA, cached; an absent one is
// profile_not_found. The CA must exist.
func (s *Service) loadProfile(ctx context.Context, tenant, ca, name string) (*profile, error) {
	if name == "" {
		name = DefaultProfile
	}
	k := paths.Profile{Tenant: tenant, CA: ca, Name: name}
	if p, ok := s.profiles.Get(k); ok {
		return found(p, name)
	}
	gen := s.profiles.Generation()
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	p, err := readProfile(ctx, st, tenant, ca, name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return found(nil, name)
	}
	// Writers put (nil for a deleted profile); a reader caches only what
	// it found, unless a writer put something meanwhile.
	s.profiles.Add(k, p, gen)
	return found(p, name)
}

// found turns an absent profile (nil) into profile_not_found.
func found(p *profile, name string) (*profile, error) {
	if p == nil {
		return nil, fault.New(fault.ProfileNotFound, "profile %q not found", name)
	}
	return p, nil
}

// readProfile reads a profile from storage: nil when absent and not built
// in.
func readProfile(ctx context.Context, st storage.Backend, tenant, ca, name string) (*profile, error) {
	if !authn.ValidName(name) {
		return nil, nil
	}
	b, err := st.Get(ctx, paths.Profile{Tenant: tenant, CA: ca, Name: name}.String())
	if errors.Is(err, storage.ErrNotFound) {
		if p, ok := builtinProfile(name); ok {
			return compile(p)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fault.Storage(err)
	}
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("pki: profile %s/%s/%s is corrupt: %w", tenant, ca, name, err)
	}
	c, err := compile(p)
	if err != nil {
		return nil, fmt.Errorf("pki: stored profile %s/%s/%s: %w", tenant, ca, name, err)
	}
	return c, nil
}

// SetProfile creates or replaces a profile of a CA and returns it with
// its defaults filled in.
func (s *Service) SetProfile(ctx context.Context, tenant, ca string, p Profile) (Profile, error) {
	c, err := compile(p)
	if err != nil {
		return Profile{}, err
	}
	b, err := json.Marshal(c.Profile)
	if err != nil {
		return Profile{}, fmt.Errorf("pki: encoding profile: %w", err)
	}
	err = s.changeProfile(ctx, tenant, ca, c.Name, c, storage.Op{Key: paths.Profile{Tenant: tenant, CA: ca, Name: c.Name}.String(), Value: b})
	return c.Profile, err
}

// GetProfile returns a profile of a CA.
func (s *Service) GetProfile(ctx context.Context, tenant, ca, name string) (Profile, error) {
	if _, err := s.loadCA(ctx, tenant, ca); err != nil {
		return Profile{}, err
	}
	p, err := s.loadProfile(ctx, tenant, ca, name)
	if err != nil {
		return Profile{}, err
	}
	return p.Profile, nil
}

// ListProfiles returns the profiles of a CA in name order, the built-in
// ones included.
func (s *Service) ListProfiles(ctx context.Context, tenant, ca string) ([]Profile, error) {
	if _, err := s.loadCA(ctx, tenant, ca); err != nil {
		return nil, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	prefix := paths.Profiles(tenant, ca)
	keys, err := st.List(ctx, prefix, "", 0)
	if err != nil {
		return nil, fault.Storage(err)
	}
	names := []string{DefaultProfile, DefaultEncryptionProfile}
	for _, k := range keys {
		names = append(names, strings.TrimPrefix(k, prefix))
	}
	slices.Sort(names)
	var out []Profile
	for _, n := range slices.Compact(names) {
		p, err := s.loadProfile(ctx, tenant, ca, n)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Profile)
	}
	return out, nil
}

// DeleteProfile deletes a profile of a CA; a built-in profile gets its
// built-in rules back. Certificates issued under it are kept.
func (s *Service) DeleteProfile(ctx context.Context, tenant, ca, name string) error {
	var after *profile
	if p, ok := builtinProfile(name); ok {
		var err error
		if after, err = compile(p); err != nil {
			return err
		}
	} else if _, err := s.GetProfile(ctx, tenant, ca, name); err != nil {
		return err
	}
	return s.changeProfile(ctx, tenant, ca, name, after, storage.Op{Key: paths.Profile{Tenant: tenant, CA: ca, Name: name}.String(), Delete: true})
}

// changeProfile writes op for a profile of an existing CA and caches
// after (nil: absent).
func (s *Service) changeProfile(ctx context.Context, tenant, ca, name string, after *profile, op storage.Op) error {
	if err := checkTenant(tenant); err != nil {
		return err
	}
	st, err := s.store.Backend()
	if err != nil {
		return err
	}
	err = storage.Atomic(ctx, st, func(tx storage.Backend) error {
		if _, err := readCA(ctx, tx, tenant, ca); err != nil {
			return err
		}
		return tx.Batch(ctx, []storage.Op{op})
	})
	if err != nil {
		return fault.Storage(err)
	}
	s.profiles.Put(paths.Profile{Tenant: tenant, CA: ca, Name: name}, after)
	return nil
}
