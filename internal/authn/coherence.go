package authn

// Forget drops the cached copy of the record at path (a barrier path),
// which another node changed: a token, a tenant or a policy.
func (s *Service) Forget(path string) {
	s.tokens.Forget(path)
	s.tenants.Forget(path)
	s.policies.Forget(path)
}
