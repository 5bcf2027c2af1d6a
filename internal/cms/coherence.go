package cms

// Forget drops the cached TSA stored at path (a barrier path), which
// another node changed.
func (s *Service) Forget(path string) { s.tsas.Forget(path) }

// Purge drops every cached TSA; pending challenges stay, they live only
// on this node.
func (s *Service) Purge() { s.tsas.Purge() }
