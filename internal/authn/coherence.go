package authn

import "strings"

// Forget drops the cached copy of the record at path (a barrier path),
// which another node changed: a token, a tenant or a policy.
func (s *Service) Forget(path string) {
	switch {
	case strings.HasPrefix(path, tokenPrefix):
		s.tokens.Delete(strings.TrimPrefix(path, tokenPrefix))
	case strings.HasPrefix(path, tenantPrefix):
		s.tenants.Delete(strings.TrimPrefix(path, tenantPrefix))
	default:
		// t/<tenant>/policies/<name>
		if tenant, name, ok := tenantObject(path, "/policies/"); ok {
			s.policies.Delete(tenant + "/" + name)
		}
	}
}

// tenantObject splits a path "t/<tenant><kind><name>".
func tenantObject(path, kind string) (tenant, name string, ok bool) {
	rest, ok := strings.CutPrefix(path, "t/")
	if !ok {
		return "", "", false
	}
	tenant, name, ok = strings.Cut(rest, kind)
	return tenant, name, ok && !strings.Contains(tenant, "/")
}
