package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func load(t *testing.T, file string, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	BindFlags(fs)
	if file != "" {
		path := filepath.Join(t.TempDir(), "mima.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs, func(k string) string { return env[k] })
}

func TestConfigPrecedence(t *testing.T) {
	file := "listen_addr: 0.0.0.0:9000\nstorage: bolt\ndata_dir: /var/lib/mima\nmax_request_bytes: 1000\naudit_checkpoint_interval: 5m\n"
	cfg, err := load(t, file, map[string]string{"MIMA_DATA_DIR": "/env/dir", "MIMA_MAX_REQUEST_BYTES": "2000"}, "--max-request-bytes", "3000")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != "0.0.0.0:9000" || cfg.DataDir != "/env/dir" || cfg.MaxRequestBytes != 3000 || cfg.AuditCheckpointInterval != 5*time.Minute {
		t.Fatalf("precedence: %+v", cfg)
	}
	if cfg.ReadTimeout != Defaults().ReadTimeout {
		t.Fatalf("default lost: %v", cfg.ReadTimeout)
	}
}

func TestEveryFieldHasFlagAndEnv(t *testing.T) {
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	BindFlags(fs)
	for _, f := range table.Fields {
		if fs.Lookup(f.Flag) == nil {
			t.Errorf("field %s has no flag --%s", f.Key, f.Flag)
		}
		if !strings.Contains(fs.Lookup(f.Flag).Usage, EnvName(f.Key)) {
			t.Errorf("flag --%s does not name its environment variable", f.Flag)
		}
	}
	// Every yaml field of Config is in the table.
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range table.Fields {
		if !strings.Contains(string(doc), "`"+f.Key+"`") {
			t.Errorf("docs/configuration.md does not describe %s", f.Key)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		file string
		env  map[string]string
		args []string
	}{
		"unknown field":                     {file: "listen_adr: x\n"},
		"bad storage":                       {args: []string{"--storage", "floppy"}},
		"cert without key":                  {args: []string{"--tls-cert-file", "c.pem"}},
		"bad duration env":                  {env: map[string]string{"MIMA_READ_TIMEOUT": "soon"}},
		"bad log level":                     {args: []string{"--log-level", "loud"}},
		"nonce limit past 2^32":             {args: []string{"--nonce-limit", "4294967297"}},
		"nonce limit 0":                     {env: map[string]string{"MIMA_NONCE_LIMIT": "0"}},
		"dev with kek":                      {args: []string{"--dev", "--unseal-kek-file", "k"}},
		"tlcp without certificates":         {args: []string{"--tlcp-addr", ":8443"}},
		"tlcp certificates without address": {args: []string{"--tlcp-sign-cert", "s.pem"}},
		"tlcp one port without tls":         {args: append(tlcpFiles, "--tlcp-addr", Defaults().ListenAddr)},
		"tlcp bad client auth":              {args: append(tlcpFiles, "--tlcp-addr", ":8443", "--tlcp-client-auth", "maybe")},
		"tlcp require without ca":           {args: append(tlcpFiles, "--tlcp-addr", ":8443", "--tlcp-client-auth", "require")},
		"bad trusted proxy":                 {args: []string{"--trusted-proxy", "10.0.0.0/33"}},
		"negative public rate":              {args: []string{"--public-rate-limit", "-1"}},
		"public rate without burst":         {args: []string{"--public-rate-burst", "0"}},
		"no login challenges":               {args: []string{"--login-challenges-per-tenant", "0"}},
		"negative refusal interval":         {args: []string{"--audit-refusal-interval", "-1s"}},
		"unknown device type":               {file: "devices: [{name: d, type: floppy}]\n"},
		"two devices of one name":           {file: "devices: [{name: d, type: software}, {name: d, type: software}]\n"},
		"seal of another type":              {file: hsmDevices + "seal: {type: kek, device: hsm0, key_label: r}\n"},
		"seal device missing":               {file: hsmDevices + "seal: {type: pkcs11, device: hsm1, key_label: r}\n"},
		"seal device not pkcs11":            {file: hsmDevices + "seal: {type: pkcs11, device: soft0, key_label: r}\n"},
		"seal without key label":            {file: hsmDevices + "seal: {type: pkcs11, device: hsm0}\n"},
		"seal with kek":                     {file: hsmDevices + hsmSeal, args: []string{"--unseal-kek-file", "k"}},
		"seal fields without type":          {file: hsmDevices + "seal: {device: hsm0}\n"},
	} {
		if _, err := load(t, tc.file, tc.env, tc.args...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// hsmDevices and hsmSeal are the devices and seal of the example.
const (
	hsmDevices = "devices: [{name: soft0, type: software}, {name: hsm0, type: pkcs11, library: /usr/lib/softhsm/libsofthsm2.so, token_label: mima, pin_env: MIMA_HSM_PIN}]\n"
	hsmSeal    = "seal: {type: pkcs11, device: hsm0, key_label: mima-root}\n"
)

func TestDevicesAndSealConfig(t *testing.T) {
	cfg, err := load(t, hsmDevices+hsmSeal, nil)
	if err != nil {
		t.Fatal(err)
	}
	hsm := cfg.Devices[1]
	if hsm.Name != "hsm0" || hsm.Library != "/usr/lib/softhsm/libsofthsm2.so" || hsm.TokenLabel != "mima" || hsm.PINEnv != "MIMA_HSM_PIN" ||
		cfg.Seal != (SealConfig{Type: "pkcs11", Device: "hsm0", KeyLabel: "mima-root"}) {
		t.Fatalf("devices %+v, seal %+v", cfg.Devices, cfg.Seal)
	}
}

func TestDevDefaultsToMemory(t *testing.T) {
	cfg, err := load(t, "", nil, "--dev")
	if err != nil || cfg.Storage != "inmem" || !cfg.Dev {
		t.Fatalf("dev: %+v, %v", cfg, err)
	}
	cfg, err = load(t, "", nil, "--dev", "--storage", "bolt", "--data-dir", t.TempDir())
	if err != nil || cfg.Storage != "bolt" {
		t.Fatalf("dev with bolt: %+v, %v", cfg, err)
	}
}

// tlcpFiles are the four certificate and key flags of TLCP.
var tlcpFiles = []string{"--tlcp-sign-cert", "s.pem", "--tlcp-sign-key", "s.key", "--tlcp-enc-cert", "e.pem", "--tlcp-enc-key", "e.key"}

func TestTLCPConfig(t *testing.T) {
	cfg, err := load(t, "tlcp_addr: 127.0.0.1:8443\ntlcp_sign_cert: s.pem\ntlcp_sign_key: s.key\ntlcp_enc_cert: e.pem\ntlcp_enc_key: e.key\ntlcp_client_ca: ca.pem\n",
		map[string]string{"MIMA_TLCP_CLIENT_AUTH": "require"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLCPAddr != "127.0.0.1:8443" || cfg.TLCPEncKey != "e.key" || cfg.TLCPClientAuth != "require" {
		t.Fatalf("tlcp config: %+v", cfg)
	}
}

// TestTrustedProxies checks that addresses and prefixes both name proxies.
func TestTrustedProxies(t *testing.T) {
	cfg, err := load(t, "trusted_proxies: [10.1.2.3, \"192.168.0.0/16\", \"2001:db8::1/64\"]\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.trustedProxies()
	if err != nil || fmt.Sprint(got) != "[10.1.2.3/32 192.168.0.0/16 2001:db8::/64]" {
		t.Errorf("trusted proxies %v, %v", got, err)
	}
}
