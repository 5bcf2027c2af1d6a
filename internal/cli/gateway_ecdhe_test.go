package cli

import "testing"

// TestGatewayECDHEClientParams: the client mode sends ClientECDHParams
// without the length prefix unless ecdhe_client_params says prefixed, and
// an unknown value is refused.
func TestGatewayECDHEClientParams(t *testing.T) {
	for _, c := range []struct {
		value    string
		prefixed bool
		ok       bool
	}{{"", false, true}, {"plain", false, true}, {"prefixed", true, true}, {"length", false, false}} {
		tc, err := gatewayConfig{Mode: "client", ECDHEParams: c.value}.tlcp()
		if (err == nil) != c.ok || (err == nil && tc.ECDHEPrefixedClientParams != c.prefixed) {
			t.Errorf("%q: %+v, %v", c.value, tc, err)
		}
	}
}
