package storage

import "sync/atomic"

// Slot holds the store a service uses while mima is unsealed, and nothing
// while it is sealed; it is safe for concurrent use.
type Slot struct{ p atomic.Pointer[slotted] }

type slotted struct{ Backend }

// Set fills the slot with b on unseal; Set(nil) empties it on seal.
func (s *Slot) Set(b Backend) {
	if b == nil {
		s.p.Store(nil)
		return
	}
	s.p.Store(&slotted{b})
}

// Get returns the store, and false while the slot is empty.
func (s *Slot) Get() (Backend, bool) {
	b := s.p.Load()
	if b == nil {
		return nil, false
	}
	return b.Backend, true
}
