package server

import (
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
)

const twoSoftware = "devices:\n  - {name: soft0, type: software}\n  - {name: soft1, type: software}\n"

// TestDevicesConfig: a devices list builds a pool of them; a bad list is
// refused at start.
func TestDevicesConfig(t *testing.T) {
	cfg, err := load(t, twoSoftware, nil, "--dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Devices) != 2 || cfg.Devices[1].Name != "soft1" {
		t.Fatalf("devices: %+v", cfg.Devices)
	}
	dev, p, err := (&node{cfg: cfg}).openDevices()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Members(); len(got) != 2 || dev != device.Device(p) {
		t.Fatalf("pool members %v", got)
	}
	for name, file := range map[string]string{
		"unknown type":  "devices:\n  - {name: x, type: floppy}\n",
		"no name":       "devices:\n  - {type: software}\n",
		"duplicate":     "devices:\n  - {name: a, type: software}\n  - {name: a, type: software}\n",
		"unknown field": "devices:\n  - {name: a, type: software, colour: red}\n",
	} {
		if _, err := load(t, file, nil, "--dev"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := load(t, "devices:\n  - {name: x, type: floppy}\n", nil, "--dev"); err == nil || !strings.Contains(err.Error(), "software") {
		t.Errorf("an unknown type does not name the known ones: %v", err)
	}
	if cfg, _ := load(t, "", nil, "--dev"); cfg.Devices != nil {
		t.Fatal("devices without configuration")
	}
	cfg.DeviceHealthInterval = 0
	if _, _, err := (&node{cfg: cfg}).openDevices(); err == nil {
		t.Error("a pool without a health check interval opened")
	}
	if dev, p, _ := (&node{cfg: Defaults()}).openDevices(); p != nil || dev == nil {
		t.Fatal("no devices list: want the software device alone")
	}
}
