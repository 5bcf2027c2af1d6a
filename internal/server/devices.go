package server

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/mimacrypto/mima/internal/device"
)

// DeviceConfig is one entry of devices: a crypto device of the pool.
type DeviceConfig struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"` // a key of deviceTypes
}

// deviceTypes builds a device of each configurable type.
var deviceTypes = map[string]func(DeviceConfig) (device.Device, error){
	"software": func(DeviceConfig) (device.Device, error) { return device.NewSoftware(), nil },
}

// validateDevices checks the devices list: unique names, known types.
func (c Config) validateDevices() error {
	seen := map[string]bool{}
	for i, d := range c.Devices {
		if d.Name == "" {
			return fmt.Errorf("devices[%d] needs a name", i)
		}
		if seen[d.Name] {
			return fmt.Errorf("devices: two devices are named %q", d.Name)
		}
		seen[d.Name] = true
		if _, ok := deviceTypes[d.Type]; !ok {
			return fmt.Errorf("devices: %q has type %q; the types are %s", d.Name, d.Type, typeNames())
		}
	}
	return nil
}

func typeNames() string { return strings.Join(slices.Sorted(maps.Keys(deviceTypes)), ", ") }
