//go:build cgo && linux

package pkcs11

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/mimacrypto/mima/internal/device"
)

// locked is memory outside the Go heap, locked against swapping and left
// out of core dumps, that holds a key's bytes for one call.
type locked struct {
	page []byte
	b    []byte // the key: a prefix of page
}

// lock maps and locks a page for n bytes.
func lock(n int) (*locked, error) {
	size := os.Getpagesize()
	if n > size {
		return nil, fmt.Errorf("pkcs11: %d key bytes do not fit a locked page", n)
	}
	page, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: mapping a page for key bytes: %v: %w", err, device.ErrBusy)
	}
	if err := unix.Mlock(page); err != nil {
		unix.Munmap(page)
		return nil, fmt.Errorf("pkcs11: locking a page for key bytes (raise RLIMIT_MEMLOCK, `ulimit -l`): %v: %w", err, device.ErrBusy)
	}
	unix.Madvise(page, unix.MADV_DONTDUMP)
	return &locked{page: page, b: page[:n]}, nil
}

// free zeroes, unlocks and unmaps the page.
func (l *locked) free() {
	clear(l.page)
	unix.Munlock(l.page)
	unix.Munmap(l.page)
}
