package storage

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrInvalidKey is returned, wrapped, for a key that is empty or not valid
// UTF-8. Backends reject such keys before touching any data.
var ErrInvalidKey = errors.New("storage: invalid key")

// CheckKey returns an error wrapping ErrInvalidKey unless key is a non-empty,
// valid UTF-8 string.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidKey, key)
	}
	return nil
}

// CheckOps returns an error wrapping ErrInvalidKey if any op has an invalid
// key, naming the index of the first such op.
func CheckOps(ops []Op) error {
	for i, op := range ops {
		if err := CheckKey(op.Key); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
	}
	return nil
}
