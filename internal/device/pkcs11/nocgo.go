//go:build !(cgo && linux)

package pkcs11

import (
	"context"
	"fmt"

	"github.com/mimacrypto/mima/internal/device"
)

// Device stands in for the PKCS#11 device in a mima built without cgo or
// for another system than Linux: New always fails.
type Device struct{ device.Device }

// New refuses: PKCS#11 modules are C libraries, loaded through cgo.
func New(Config) (*Device, error) {
	return nil, fmt.Errorf("pkcs11: this mima was built without cgo or not for Linux; PKCS#11 devices need both: %w", device.ErrUnavailable)
}

// RetireTenant refuses, as New does.
func (*Device) RetireTenant(context.Context, string) error {
	return fmt.Errorf("pkcs11: this mima was built without cgo or not for Linux: %w", device.ErrUnavailable)
}
