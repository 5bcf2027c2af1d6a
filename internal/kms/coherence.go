package kms

import "strings"

// Forget drops the cached key or alias stored at path (a barrier path),
// which another node changed.
func (s *Service) Forget(path string) {
	rest, ok := strings.CutPrefix(path, "t/")
	if !ok {
		return
	}
	tenant, obj, ok := strings.Cut(rest, "/")
	if !ok {
		return
	}
	if name, ok := strings.CutPrefix(obj, "keys/"); ok {
		s.keys.remove(ckey{tenant, name})
	} else if alias, ok := strings.CutPrefix(obj, "aliases/"); ok {
		s.aliases.remove(ckey{tenant, alias})
	}
}

// Purge drops every cached key and alias; they reload on next use.
func (s *Service) Purge() {
	s.keys.clear()
	s.aliases.clear()
}
