// Package settings loads a configuration struct from a YAML file, the
// environment and command-line flags, later sources winning, from one
// table that names each field's key, flag and help.
package settings

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/mimacrypto/mima/internal/duration"
)

// Field ties a field of C to its YAML key, flag and help text. Ptr returns
// a pointer to the field: *string, *[]string, *int64, *uint64 or
// *time.Duration.
type Field[C any] struct {
	Key, Flag, Help string
	Ptr             func(*C) any
}

// F is a Field, for tables written one field per line.
func F[C any](key, flag, help string, ptr func(*C) any) Field[C] {
	return Field[C]{Key: key, Flag: flag, Help: help, Ptr: ptr}
}

// Table is the fields of C and the prefix of their environment variables.
type Table[C any] struct {
	EnvPrefix string // e.g. "MIMA_"
	Fields    []Field[C]
}

// EnvName is the environment variable of a key: the prefix and the key in
// upper case.
func (t Table[C]) EnvName(key string) string { return t.EnvPrefix + strings.ToUpper(key) }

// Bind registers a flag for every field on fs, writing into scratch, whose
// values are the flags' defaults, and a --config flag for the YAML file.
// Load reads back only the flags the user set.
func (t Table[C]) Bind(fs *pflag.FlagSet, scratch *C) {
	for _, f := range t.Fields {
		help := fmt.Sprintf("%s (env %s)", f.Help, t.EnvName(f.Key))
		switch p := f.Ptr(scratch).(type) {
		case *string:
			fs.StringVar(p, f.Flag, *p, help)
		case *[]string:
			fs.StringArrayVar(p, f.Flag, *p, help+"; repeat the flag, or one per line in the variable")
		case *int64:
			fs.Int64Var(p, f.Flag, *p, help)
		case *uint64:
			fs.Uint64Var(p, f.Flag, *p, help)
		case *time.Duration:
			fs.Var(duration.Value{D: p}, f.Flag, help)
		default:
			panic(fmt.Sprintf("settings: field %s has unsupported type %T", f.Key, p))
		}
	}
	fs.String("config", "", "YAML configuration file")
}

// Load fills cfg, which holds the defaults, from the file named by
// --config, then the environment (read with getenv), then the flags set
// on fs. Unknown keys in the file are an error.
func (t Table[C]) Load(fs *pflag.FlagSet, getenv func(string) string, cfg *C) error {
	if path, _ := fs.GetString("config"); path != "" {
		if err := t.loadFile(path, cfg); err != nil {
			return err
		}
	}
	for _, f := range t.Fields {
		if v := getenv(t.EnvName(f.Key)); v != "" {
			if err := set(f.Ptr(cfg), v, strings.Split(v, "\n")); err != nil {
				return fmt.Errorf("%s: %w", t.EnvName(f.Key), err)
			}
		}
		fl := fs.Lookup(f.Flag)
		if fl == nil || !fl.Changed {
			continue
		}
		var list []string
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			list = sv.GetSlice()
		}
		if err := set(f.Ptr(cfg), fl.Value.String(), list); err != nil {
			return fmt.Errorf("--%s: %w", f.Flag, err)
		}
	}
	return nil
}

// loadFile decodes the YAML file into cfg. Duration fields take days
// ("30d") as the environment and flags do: their values are rewritten in
// Go's syntax before decoding.
func (t Table[C]) loadFile(path string, cfg *C) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		m := doc.Content[0].Content
		for i := 0; i+1 < len(m); i += 2 {
			if v := m[i+1]; t.isDuration(m[i].Value) && v.Kind == yaml.ScalarNode {
				if d, err := duration.Parse(v.Value); err == nil {
					v.Value = d.String()
				}
			}
		}
		if b, err = yaml.Marshal(&doc); err != nil {
			return fmt.Errorf("config file %s: %w", path, err)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// isDuration reports whether key is a field of type time.Duration.
func (t Table[C]) isDuration(key string) bool {
	var c C
	for _, f := range t.Fields {
		if f.Key == key {
			_, ok := f.Ptr(&c).(*time.Duration)
			return ok
		}
	}
	return false
}

// set parses v (or, for a list field, list) into the field p.
func set(p any, v string, list []string) error {
	switch p := p.(type) {
	case *string:
		*p = v
	case *[]string:
		*p = list
	case *int64:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		*p = n
	case *uint64:
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return err
		}
		*p = n
	case *time.Duration:
		d, err := duration.Parse(v)
		if err != nil {
			return err
		}
		*p = d
	}
	return nil
}
