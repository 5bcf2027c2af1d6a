package fieldcrypt

import (
	"bytes"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/mimacrypto/mima/sdk/fieldcrypt/mask"
)

// Mode is how a field is protected.
type Mode string

// The modes of a field.
const (
	// Randomized is SM4-GCM under a cached data key whose wrapped form,
	// and commitment, the field carries: equal values encrypt differently.
	Randomized Mode = "randomized"
	// Deterministic is SM4-GCM-SIV (RFC 8452 with SM4) under the field
	// key with a fixed nonce: equal values give equal ciphertexts, for
	// equality search and joins.
	Deterministic Mode = "deterministic"
	// BlindIndex stores a randomized ciphertext in the column and a
	// truncated HMAC-SM3 of the normalised value, under its own field key,
	// in IndexColumn.
	BlindIndex Mode = "blind-index"
	// FPE is FF1 with SM4 (NIST SP 800-38G): a digit string stays a digit
	// string of the same length (Format says which).
	FPE Mode = "fpe"
	// Mask replaces the value with its mask (Field.Mask); it cannot be
	// undone.
	Mask Mode = "mask"
	// Pseudonym replaces the value with a token, HMAC-SM3 under the field
	// key, stable for the key (and so per tenant); it cannot be undone.
	Pseudonym Mode = "pseudonym"
)

// FPE formats.
const (
	FormatDigits   = "digits"    // every digit encrypted
	FormatPhone    = "phone"     // the first three digits kept
	FormatIDCard   = "id-card"   // 17 digits encrypted, the check character recomputed (GB 11643)
	FormatBankCard = "bank-card" // all but the last digit encrypted, the Luhn digit recomputed
)

// Field is the protection of one column.
type Field struct {
	Column string `yaml:"column" json:"column"`
	// Key is the mima key (name or alias) the field's keys come from.
	Key  string `yaml:"key" json:"key"`
	Mode Mode   `yaml:"mode" json:"mode"`
	// Mask is a pattern "K*L" or a kind (phone, id-card, bank-card,
	// name, address): the value of mode mask, and what a role without
	// decrypt on the column sees.
	Mask string `yaml:"mask,omitempty" json:"mask,omitempty"`
	// Version pins the version of Key whose field key the deterministic
	// modes use (so equal values stay equal after a rotation); 0 means 1.
	Version int `yaml:"version,omitempty" json:"version,omitempty"`
	// Format is the FPE format: digits (default), phone, id-card,
	// bank-card.
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	// Tweak is the FPE tweak (the same as the /fpe endpoint's).
	Tweak string `yaml:"tweak,omitempty" json:"tweak,omitempty"`
	// IndexColumn receives a blind index (default: Column + "_bidx");
	// IndexBytes is its length before encoding (default 8, 4 to 32).
	IndexColumn string `yaml:"index_column,omitempty" json:"index_column,omitempty"`
	IndexBytes  int    `yaml:"index_bytes,omitempty" json:"index_bytes,omitempty"`

	pattern mask.Pattern
}

// Config is a fields.yaml: the fields to protect and, for a reader that
// reveals values per role (a proxy), the columns each role may decrypt.
type Config struct {
	Fields []Field             `yaml:"fields" json:"fields"`
	Roles  map[string][]string `yaml:"roles,omitempty" json:"roles,omitempty"`
}

// ParseConfig reads and checks a fields.yaml.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("fieldcrypt: fields file: %w", err)
	}
	if len(c.Fields) == 0 {
		return nil, errors.New("fieldcrypt: the fields file names no fields")
	}
	seen := map[string]bool{}
	for i := range c.Fields {
		f := &c.Fields[i]
		if err := f.Check(); err != nil {
			return nil, err
		}
		if seen[f.Column] {
			return nil, fmt.Errorf("fieldcrypt: column %q is listed twice", f.Column)
		}
		seen[f.Column] = true
	}
	return &c, nil
}

// Check validates the field and fills in its defaults.
func (f *Field) Check() error {
	if f.Column == "" {
		return errors.New("fieldcrypt: a field needs a column")
	}
	where := fmt.Sprintf("fieldcrypt: column %q", f.Column)
	if f.Key == "" && f.Mode != Mask {
		return fmt.Errorf("%s: mode %s needs a key", where, f.Mode)
	}
	if f.Version < 0 {
		return fmt.Errorf("%s: version must be positive", where)
	}
	if f.Version == 0 {
		f.Version = 1
	}
	switch f.Mode {
	case Randomized, Deterministic, Pseudonym:
	case BlindIndex:
		if f.IndexColumn == "" {
			f.IndexColumn = f.Column + "_bidx"
		}
		if f.IndexBytes == 0 {
			f.IndexBytes = 8
		}
		if f.IndexBytes < 4 || f.IndexBytes > 32 {
			return fmt.Errorf("%s: index_bytes must be 4 to 32", where)
		}
	case FPE:
		if f.Format == "" {
			f.Format = FormatDigits
		}
		switch f.Format {
		case FormatDigits, FormatPhone, FormatIDCard, FormatBankCard:
		default:
			return fmt.Errorf("%s: unknown FPE format %q (digits, phone, id-card, bank-card)", where, f.Format)
		}
	case Mask:
		if f.Mask == "" {
			return fmt.Errorf("%s: mode mask needs a mask", where)
		}
	default:
		return fmt.Errorf("%s: unknown mode %q (randomized, deterministic, blind-index, fpe, mask, pseudonym)", where, f.Mode)
	}
	if f.Mask != "" {
		p, ok := mask.Rules[mask.Kind(f.Mask)]
		if !ok {
			var err error
			if p, err = mask.ParsePattern(f.Mask); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
		f.pattern = p
	}
	return nil
}

// Reversible reports whether the mode's values decrypt.
func (f *Field) Reversible() bool {
	return f.Mode != Mask && f.Mode != Pseudonym
}

// MayDecrypt reports whether role may see the plaintext of column.
func (c *Config) MayDecrypt(role, column string) bool {
	for _, col := range c.Roles[role] {
		if col == column || col == "*" {
			return true
		}
	}
	return false
}
