package dbproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/mimacrypto/mima/sdk/fieldcrypt"
)

// Column is the rule of one protected column: how it is stored
// (fieldcrypt's modes and formats, docs/data.md) and which database roles
// see it as plaintext or masked. Every other role sees what is stored.
type Column struct {
	Table  string `yaml:"table"`
	Column string `yaml:"column"`
	// The fieldcrypt.Field settings, with the same meaning as in a
	// fields.yaml, so the proxy and mima bulk store the same bytes.
	Key         string          `yaml:"key"`
	Mode        fieldcrypt.Mode `yaml:"mode"`
	Mask        string          `yaml:"mask,omitempty"`
	Version     int             `yaml:"version,omitempty"`
	Format      string          `yaml:"format,omitempty"`
	Tweak       string          `yaml:"tweak,omitempty"`
	IndexColumn string          `yaml:"index_column,omitempty"`
	IndexBytes  int             `yaml:"index_bytes,omitempty"`
	// PlaintextRoles see the value decrypted, MaskRoles its mask.
	PlaintextRoles []string `yaml:"plaintext_roles,omitempty"`
	MaskRoles      []string `yaml:"mask_roles,omitempty"`

	field  fieldcrypt.Field
	masker fieldcrypt.Field // field with mode mask: what mask roles see
}

// Rules is a rules.yaml: the protected columns.
type Rules struct {
	Columns []Column `yaml:"columns"`

	byTable map[string]map[string]*Column
	plans   planCache
}

// ParseRules reads and checks a rules.yaml.
func ParseRules(b []byte) (*Rules, error) {
	var r Rules
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&r); err != nil {
		return nil, fmt.Errorf("dbproxy: rules file: %w", err)
	}
	if len(r.Columns) == 0 {
		return nil, errors.New("dbproxy: the rules file names no columns")
	}
	r.byTable = map[string]map[string]*Column{}
	for i := range r.Columns {
		c := &r.Columns[i]
		if c.Table == "" {
			return nil, fmt.Errorf("dbproxy: column %q needs a table", c.Column)
		}
		c.field = fieldcrypt.Field{Column: c.Column, Key: c.Key, Mode: c.Mode, Mask: c.Mask, Version: c.Version,
			Format: c.Format, Tweak: c.Tweak, IndexColumn: c.IndexColumn, IndexBytes: c.IndexBytes}
		if err := c.field.Check(); err != nil {
			return nil, fmt.Errorf("dbproxy: table %q: %w", c.Table, err)
		}
		if len(c.MaskRoles) > 0 && c.Mask == "" {
			return nil, fmt.Errorf("dbproxy: %s.%s: mask_roles need a mask", c.Table, c.Column)
		}
		c.masker = c.field
		c.masker.Mode = fieldcrypt.Mask
		if r.byTable[c.Table] == nil {
			r.byTable[c.Table] = map[string]*Column{}
		}
		if r.byTable[c.Table][c.Column] != nil {
			return nil, fmt.Errorf("dbproxy: %s.%s is listed twice", c.Table, c.Column)
		}
		r.byTable[c.Table][c.Column] = c
	}
	return &r, nil
}

// Lookup returns the rule of table.column, or nil.
func (r *Rules) Lookup(table, column string) *Column { return r.byTable[table][column] }

// Table returns the rules of a table's columns, or nil.
func (r *Rules) Table(table string) map[string]*Column { return r.byTable[table] }

// CheckKeys asks ks for every key the rules name, so that a proxy with a
// rule naming a missing key, or one it may not use, refuses to start.
func (r *Rules) CheckKeys(ctx context.Context, ks fieldcrypt.KeyService) error {
	for i := range r.Columns {
		c := &r.Columns[i]
		var err error
		switch c.Mode {
		case fieldcrypt.Mask:
			continue
		case fieldcrypt.Randomized:
			_, _, err = ks.DataKey(ctx, c.Key)
		case fieldcrypt.BlindIndex:
			if _, _, err = ks.DataKey(ctx, c.Key); err == nil {
				_, _, err = ks.FieldKey(ctx, c.Key, string(c.Mode), c.field.Version)
			}
		default:
			_, _, err = ks.FieldKey(ctx, c.Key, string(c.Mode), c.field.Version)
		}
		if err != nil {
			return fmt.Errorf("dbproxy: %s.%s: key %q: %w", c.Table, c.Column, c.Key, err)
		}
	}
	return nil
}

// view is what a role sees of a column.
type view int

const (
	viewStored view = iota
	viewPlain
	viewMask
)

// viewOf is what a client with roles sees: the most any of them sees.
func (c *Column) viewOf(roles []string) view {
	in := func(list []string) bool {
		return slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(list, r) })
	}
	switch {
	case in(c.PlaintextRoles):
		return viewPlain
	case in(c.MaskRoles):
		return viewMask
	}
	return viewStored
}
