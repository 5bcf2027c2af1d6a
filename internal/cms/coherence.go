package cms

import "strings"

// Forget drops the cached TSA stored at path (a barrier path), which
// another node changed.
func (s *Service) Forget(path string) {
	rest, ok := strings.CutPrefix(path, "t/")
	if !ok {
		return
	}
	if tenant, name, ok := strings.Cut(rest, "/cms/tsas/"); ok {
		s.tsas.Delete(tenant + "/" + name)
	}
}

// Purge drops every cached TSA; pending challenges stay, they live only
// on this node.
func (s *Service) Purge() { s.tsas.Clear() }
