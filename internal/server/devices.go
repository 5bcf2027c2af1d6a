package server

import (
	"fmt"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/pkcs11"
	"github.com/mimacrypto/mima/internal/seal"
)

// DeviceConfig is an entry of `devices:` in the config file: a crypto
// device by name. The fields after Type belong to the device's type.
type DeviceConfig struct {
	Name          string `yaml:"name"`
	Type          string `yaml:"type"` // a key of deviceTypes
	pkcs11.Config `yaml:",inline"`
}

// deviceTypes builds a device of each type from its configuration.
var deviceTypes = map[string]func(DeviceConfig) (device.Device, error){
	"software": func(DeviceConfig) (device.Device, error) { return device.NewSoftware(), nil },
	"pkcs11":   func(c DeviceConfig) (device.Device, error) { return pkcs11.New(c.Config) },
}

// SealConfig is `seal:` in the config file: auto-unseal by a device.
type SealConfig struct {
	Type     string `yaml:"type"`      // "" (key shares) or pkcs11
	Device   string `yaml:"device"`    // the name of a pkcs11 entry of devices
	KeyLabel string `yaml:"key_label"` // the token key that wraps the root key
}

// validateDevices checks devices and seal.
func (c Config) validateDevices() error {
	names := map[string]DeviceConfig{}
	for _, d := range c.Devices {
		if _, ok := deviceTypes[d.Type]; !ok {
			return fmt.Errorf("devices: %q has type %q; the types are software and pkcs11", d.Name, d.Type)
		}
		if _, dup := names[d.Name]; dup || d.Name == "" {
			return fmt.Errorf("devices: every device needs a name of its own (%q)", d.Name)
		}
		names[d.Name] = d
	}
	switch c.Seal.Type {
	case "":
		if c.Seal != (SealConfig{}) {
			return fmt.Errorf("seal: device and key_label need type pkcs11")
		}
		return nil
	case "pkcs11":
	default:
		return fmt.Errorf("seal: type must be pkcs11 (or absent: key shares), not %q", c.Seal.Type)
	}
	switch d, ok := names[c.Seal.Device]; {
	case !ok:
		return fmt.Errorf("seal: device %q is not among devices", c.Seal.Device)
	case d.Type != "pkcs11":
		return fmt.Errorf("seal: device %q is of type %s, not pkcs11", c.Seal.Device, d.Type)
	case c.Seal.KeyLabel == "":
		return fmt.Errorf("seal: key_label is required with type pkcs11")
	case c.UnsealKEKFile != "":
		return fmt.Errorf("seal: pkcs11 and unseal_kek_file exclude each other")
	case c.Dev:
		return fmt.Errorf("the development server unseals itself; seal does not apply")
	}
	return nil
}

// sealWrapper opens the device that seal names and returns its wrapper.
// A token that is missing stops the node from starting, with the reason.
func (n *node) sealWrapper() (seal.Wrapper, error) {
	d, ok := n.opened[n.cfg.Seal.Device]
	if !ok {
		return nil, fmt.Errorf("seal: device %q is not among devices", n.cfg.Seal.Device)
	}
	w, ok := d.(interface{ SealWrapper(string) seal.Wrapper })
	if !ok {
		return nil, fmt.Errorf("seal: device %s cannot wrap the root key", n.cfg.Seal.Device)
	}
	return w.SealWrapper(n.cfg.Seal.KeyLabel), nil
}
