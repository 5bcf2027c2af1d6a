package settings

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

type conf struct {
	Name  string        `yaml:"name"`
	Names []string      `yaml:"names"`
	Size  int64         `yaml:"size"`
	Count uint64        `yaml:"count"`
	Wait  time.Duration `yaml:"wait"`
}

var testTable = Table[conf]{EnvPrefix: "T_", Fields: []Field[conf]{
	F("name", "name", "a name", func(c *conf) any { return &c.Name }),
	F("names", "names", "names", func(c *conf) any { return &c.Names }),
	F("size", "size", "a size", func(c *conf) any { return &c.Size }),
	F("count", "count", "a count", func(c *conf) any { return &c.Count }),
	F("wait", "wait", "a wait", func(c *conf) any { return &c.Wait }),
}}

func load(t *testing.T, file string, env map[string]string, args ...string) (conf, error) {
	t.Helper()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	scratch := conf{Size: 1}
	testTable.Bind(fs, &scratch)
	if file != "" {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg := conf{Size: 1}
	err := testTable.Load(fs, func(k string) string { return env[k] }, &cfg)
	return cfg, err
}

func TestPrecedence(t *testing.T) {
	cfg, err := load(t, "name: file\nnames: [a, b]\ncount: 3\nwait: 1m\n",
		map[string]string{"T_NAME": "env", "T_NAMES": "CN=x,O=y\nCN=z", "T_COUNT": "4"},
		"--count", "5", "--wait", "2s")
	if err != nil {
		t.Fatal(err)
	}
	want := conf{Name: "env", Names: []string{"CN=x,O=y", "CN=z"}, Size: 1, Count: 5, Wait: 2 * time.Second}
	if cfg.Name != want.Name || !slices.Equal(cfg.Names, want.Names) || cfg.Size != want.Size || cfg.Count != want.Count || cfg.Wait != want.Wait {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	cfg, err = load(t, "names: [a]\n", nil, "--names", "CN=p,O=q", "--names", "CN=r")
	if err != nil || !slices.Equal(cfg.Names, []string{"CN=p,O=q", "CN=r"}) {
		t.Fatalf("repeated flag: %q, %v", cfg.Names, err)
	}
}

func TestErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		file string
		env  map[string]string
		args []string
	}{
		"unknown key":  {file: "nmae: x\n"},
		"bad duration": {env: map[string]string{"T_WAIT": "soon"}},
		"bad number":   {args: []string{"--size", "12"}, env: map[string]string{"T_COUNT": "-1"}},
	} {
		if _, err := load(t, tc.file, tc.env, tc.args...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if testTable.EnvName("wait") != "T_WAIT" {
		t.Errorf("EnvName = %s", testTable.EnvName("wait"))
	}
}

// TestDurationsInDays: the file, the environment and the flags take days
// (issue 13).
func TestDurationsInDays(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		env        map[string]string
		args       []string
	}{
		{"file", "wait: 2d\n", nil, nil},
		{"environment", "", map[string]string{"T_WAIT": "2d"}, nil},
		{"flag", "", nil, []string{"--wait", "2d"}},
		{"file, Go syntax", "wait: 48h\n", nil, nil},
	} {
		c, err := load(t, tc.file, tc.env, tc.args...)
		if err != nil || c.Wait != 48*time.Hour {
			t.Errorf("%s: wait %v, %v", tc.name, c.Wait, err)
		}
	}
	if _, err := load(t, "wait: 2 days\n", nil); err == nil {
		t.Error("a bad duration in the file was taken")
	}
}
