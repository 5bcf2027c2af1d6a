package pki

import "strings"

// Forget drops the cached CA or profile stored at path (a barrier path),
// which another node changed.
func (s *Service) Forget(path string) {
	rest, ok := strings.CutPrefix(path, "t/")
	if !ok {
		return
	}
	tenant, obj, ok := strings.Cut(rest, "/pki/")
	if !ok {
		return
	}
	if ca, ok := strings.CutPrefix(obj, "cas/"); ok {
		s.cas.Delete(tenant + "/" + ca)
	} else if p, ok := strings.CutPrefix(obj, "profiles/"); ok {
		if ca, name, ok := strings.Cut(p, "/"); ok {
			s.profiles.Delete(profileCacheKey(tenant, ca, name))
		}
	}
}

// Purge drops every cached CA and profile.
func (s *Service) Purge() {
	s.cas.Clear()
	s.profiles.Clear()
}
