package api

import (
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
)

// TestCheckNamedFindsEveryShape: an undeclared object is found wherever a
// body type can hold one (a field, an embedded struct or pointer, the
// items of a batch, pointers to items), and the same types pass when the
// object is declared or the field is empty.
func TestCheckNamedFindsEveryShape(t *testing.T) {
	type item struct {
		ToKey string `json:"to_key"`
		Data  []byte `json:"data"`
	}
	type embedded struct{ item }
	type embeddedPtr struct{ *item }
	type batch struct {
		item
		Batch []item `json:"batch"`
	}
	type batchPtr struct {
		Batch []*item `json:"batch"`
	}
	type plain struct {
		Data  []byte `json:"data"`
		Batch []struct {
			Data []byte `json:"data"`
		} `json:"batch"`
	}
	bad := item{ToKey: "secret"}
	for name, v := range map[string]any{
		"field":              &bad,
		"embedded":           &embedded{bad},
		"embedded pointer":   &embeddedPtr{&bad},
		"batch item":         &batch{Batch: []item{{}, bad}},
		"batch item pointer": &batchPtr{Batch: []*item{nil, &bad}},
	} {
		c := &call{scope: scopeTenant, r: httptest.NewRequest("POST", "/", nil), named: map[string][]string{}}
		if err := c.checkNamed(v); fault.CodeOf(err) != fault.Internal {
			t.Errorf("%s: undeclared object passed: %v", name, err)
		}
		c.named["to_key"] = []string{"secret"}
		if err := c.checkNamed(v); err != nil {
			t.Errorf("%s: declared object refused: %v", name, err)
		}
	}
	if got := objectFieldsOf(reflect.TypeFor[plain]()); len(got) != 0 {
		t.Errorf("a type that names no object has fields to check: %+v", got)
	}
}
