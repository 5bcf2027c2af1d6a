package kms

// Forget drops the cached key or alias stored at path (a barrier path),
// which another node changed.
func (s *Service) Forget(path string) {
	s.keys.Forget(path)
	s.aliases.Forget(path)
}

// Purge drops every cached key and alias; they reload on next use.
func (s *Service) Purge() {
	s.keys.Purge()
	s.aliases.Purge()
}
