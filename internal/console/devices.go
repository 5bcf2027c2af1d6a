package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mimacrypto/mima/sdk"
)

// devicesPage shows the device pool (root): each device's health, drain
// state and counts, with a button to drain or undrain it.
func devicesPage(q *req) ([]section, error) {
	devs, err := q.api.Sys().ListDevices(q.ctx())
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Name", "Type", "Healthy", "Drained", "Last check", "Last error", "Calls", "Errors", "Mean latency", "Actions"}}
	for _, d := range devs {
		base := "/ui/devices/" + url.PathEscape(d.Name)
		act := action{base + "/drain", "Drain"}
		if d.Drained {
			act = action{base + "/undrain", "Undrain"}
		}
		last := "—"
		if d.LastCheck != nil {
			last = when(*d.LastCheck)
		}
		mean := "—"
		if d.Ops > 0 {
			mean = fmt.Sprintf("%.3f ms", 1000*d.LatencySeconds/float64(d.Ops))
		}
		t.Rows = append(t.Rows, []cell{{Text: d.Name}, {Text: d.Type}, {Text: strconv.FormatBool(d.Healthy)}, {Text: strconv.FormatBool(d.Drained)},
			{Text: last}, {Text: d.LastError}, {Text: strconv.FormatUint(d.Ops, 10)}, {Text: strconv.FormatUint(d.Errors, 10)}, {Text: mean}, {Actions: []action{act}}})
	}
	return []section{{Title: "Device pool", Note: "A drained device gets no new keys and serves only keys no other device holds. A server with one key device and no pool lists none.",
		Table: t}}, nil
}

// drainDevice drains or undrains the device the path names.
func drainDevice(q *req) ([]section, error) {
	name, a := q.r.PathValue("name"), q.r.PathValue("action")
	if a != "drain" && a != "undrain" {
		return nil, &sdk.APIError{Status: http.StatusNotFound, Code: "route_not_found", Message: "no such device action: " + a}
	}
	if _, err := q.api.Sys().DrainDevice(q.ctx(), name, a == "drain"); err != nil {
		return nil, err
	}
	return nil, done("/ui/devices", a+" "+name)
}
