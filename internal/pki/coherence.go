package pki

// Forget drops the cached CA or profile stored at path (a barrier path),
// which another node changed.
func (s *Service) Forget(path string) {
	s.cas.Forget(path)
	s.profiles.Forget(path)
}

// Purge drops every cached CA and profile.
func (s *Service) Purge() {
	s.cas.Purge()
	s.profiles.Purge()
}
