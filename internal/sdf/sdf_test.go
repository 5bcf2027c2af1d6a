package sdf

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mimacrypto/mima/sdk"
)

func TestLoadConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sdf.json")
	if err := os.WriteFile(file, []byte(`{"address":"http://a:1","token":"t","keys":{"1":"sign"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := LoadConfig(env(map[string]string{"MIMA_SDF_CONFIG": file, "MIMA_TOKEN": "override"}))
	if err != nil || c.Address != "http://a:1" || c.Token != "override" {
		t.Fatalf("%+v %v", c, err)
	}
	if name, ok := c.keyName(1); !ok || name != "sign" {
		t.Fatalf("index 1: %q %v", name, ok)
	}
	if _, ok := c.keyName(2); ok {
		t.Fatal("index 2 is not mapped")
	}
	for name, vars := range map[string]map[string]string{
		"no address":         {},
		"missing file":       {"MIMA_SDF_CONFIG": file + ".none"},
		"tlcp over http":     {"MIMA_ADDR": "http://a:1", "MIMA_SDF_CONFIG": writeConfig(t, `{"tlcp":true}`)},
		"index 0":            {"MIMA_ADDR": "http://a:1", "MIMA_SDF_CONFIG": writeConfig(t, `{"keys":{"0":"k"}}`)},
		"index not a number": {"MIMA_ADDR": "http://a:1", "MIMA_SDF_CONFIG": writeConfig(t, `{"keys":{"x":"k"}}`)},
	} {
		if _, err := LoadConfig(env(vars)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCodeOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want Code
	}{
		{nil, OK},
		{fail(StepErr, "x"), StepErr},
		{&sdk.APIError{Code: "token_revoked"}, PardenyErr},
		{&sdk.APIError{Code: "sealed"}, HardFail},
		{&sdk.APIError{Code: "key_not_found"}, KeyNotExist},
		{&sdk.APIError{Code: "something_new"}, UnknownErr},
		{errors.New("connection refused"), CommFail},
	} {
		if got := CodeOf(c.err); got != c.want {
			t.Errorf("CodeOf(%v) = %#x, want %#x", c.err, got, c.want)
		}
	}
}
