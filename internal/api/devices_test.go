package api

import (
	"net/http"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/pool"
	"github.com/mimacrypto/mima/sdk"
)

// TestDeviceRoutes lists, reads, drains and undrains the devices of a pool.
func TestDeviceRoutes(t *testing.T) {
	p, err := pool.New([]pool.Member{
		{Name: "soft0", Type: "software", Device: device.NewSoftware()},
		{Name: "soft1", Type: "software", Device: device.NewSoftware()},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := newTestNode(t, WithDevices(p))
	var list sdk.DeviceList
	n.do("GET", "/v1/sys/devices", n.root, nil).json(t, &list)
	if len(list.Devices) != 2 || list.Devices[0].Name != "soft0" || !list.Devices[1].Healthy || list.Devices[1].Type != "software" {
		t.Fatalf("devices: %+v", list.Devices)
	}
	var d sdk.Device
	n.do("POST", "/v1/sys/devices/soft1/drain", n.root, nil).json(t, &d)
	if !d.Drained || d.Name != "soft1" {
		t.Fatalf("after drain: %+v", d)
	}
	if st, _ := p.MemberStatus("soft1"); !st.Drained {
		t.Fatal("the pool's device is not drained")
	}
	n.do("POST", "/v1/sys/devices/soft1/drain", n.root, map[string]any{"drained": false}).json(t, &d)
	if d.Drained {
		t.Fatalf("after undrain: %+v", d)
	}
	n.do("GET", "/v1/sys/devices/soft0", n.root, nil).json(t, &d)
	if d.Name != "soft0" || d.Drained {
		t.Fatalf("soft0: %+v", d)
	}
	for _, r := range []response{
		n.do("GET", "/v1/sys/devices/nope", n.root, nil),
		n.do("POST", "/v1/sys/devices/nope/drain", n.root, nil),
	} {
		if r.status != http.StatusNotFound || r.errCode() != "not_found" {
			t.Errorf("an unknown device: %d %s", r.status, r.body)
		}
	}
}

// TestDeviceRoutesWithoutAPool: one device, no pool: the list is empty.
func TestDeviceRoutesWithoutAPool(t *testing.T) {
	n := newTestNode(t)
	var list sdk.DeviceList
	if n.do("GET", "/v1/sys/devices", n.root, nil).json(t, &list); list.Devices == nil || len(list.Devices) != 0 {
		t.Fatalf("devices without a pool: %+v", list)
	}
	if r := n.do("POST", "/v1/sys/devices/soft0/drain", n.root, nil); r.status != http.StatusNotFound {
		t.Fatalf("drain without a pool: %d %s", r.status, r.body)
	}
}
