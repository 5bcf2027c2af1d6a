package storage

import (
	"errors"
	"testing"
)

func TestCheckKey(t *testing.T) {
	for key, valid := range map[string]bool{
		"a":          true,
		"keys/sm4/1": true,
		"密钥/é":       true,
		"":           false,
		"\xff":       false,
		"a/\xc3":     false,
	} {
		err := CheckKey(key)
		if valid && err != nil {
			t.Errorf("CheckKey(%q) = %v, want nil", key, err)
		}
		if !valid && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("CheckKey(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
}

func TestCheckOps(t *testing.T) {
	if err := CheckOps(nil); err != nil {
		t.Errorf("CheckOps(nil) = %v", err)
	}
	ok := []Op{{Key: "a", Value: []byte("1")}, {Key: "b", Delete: true}}
	if err := CheckOps(ok); err != nil {
		t.Errorf("CheckOps(valid) = %v", err)
	}
	bad := append(ok, Op{Key: "", Delete: true})
	if err := CheckOps(bad); !errors.Is(err, ErrInvalidKey) || err.Error() != "op 2: storage: invalid key: empty key" {
		t.Errorf("CheckOps(with empty key) = %v, want ErrInvalidKey naming op 2", err)
	}
}
