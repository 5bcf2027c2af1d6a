package api

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"sync"

	"github.com/mimacrypto/mima/internal/fault"
)

// objectFields are the JSON field names that name an object of a tenant
// in a request body. A handler's decode refuses a body whose object field
// the route does not declare, so that no handler acts on an object the
// dispatcher has not decided on.
var objectFields = map[string]bool{
	"name": true, "key": true, "to_key": true, "target": true, "issuer": true, "tsa": true, "ca": true, "kgc": true,
}

// named is one object a request body names, with its declaration.
type named struct {
	decl  bodyObject
	value string
}

// bodyObjects reads the body of a route that declares body objects, puts
// it back for the handler, and returns every object it names: the
// top-level fields and the same fields in each item of "batch".
func bodyObjects(rt *route, c *call) ([]named, error) {
	if len(rt.body) == 0 {
		return nil, nil
	}
	b, err := io.ReadAll(c.r.Body)
	if err != nil {
		return nil, decodeError(err)
	}
	c.r.Body = io.NopCloser(bytes.NewReader(b))
	var top map[string]json.RawMessage
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &top); err != nil {
			return nil, decodeError(err)
		}
	}
	var items []map[string]json.RawMessage
	if raw, ok := top["batch"]; ok {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fault.New(fault.InvalidArgument, "field \"batch\" must be an array of objects")
		}
	}
	var out []named
	for _, d := range rt.body {
		found := false
		for _, obj := range append([]map[string]json.RawMessage{top}, items...) {
			v, ok, err := stringField(obj, d.field)
			if err != nil {
				return nil, err
			}
			if !ok && d.orPath {
				v, ok = c.object, true
			}
			if ok {
				out = append(out, named{decl: d, value: v})
				found = true
			}
		}
		if !found && d.main {
			// The route's object is unnamed: decide on "" as before, so
			// that only a policy matching every name allows it.
			out = append(out, named{decl: d})
		}
	}
	return out, nil
}

// stringField returns obj[field] when it is a non-empty string.
func stringField(obj map[string]json.RawMessage, field string) (string, bool, error) {
	raw, ok := obj[field]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, fault.New(fault.InvalidArgument, "field %q must be of type string", field)
	}
	return v, v != "", nil
}

// checkNamed refuses a decoded body that names an object the route did
// not declare: every object field (objectFields) of v, of its embedded
// structs and of the items of its batch must be empty, a path value of
// the request, or decided on by the dispatcher. A failure is a bug in the
// route table, which the route's tests catch.
func (c *call) checkNamed(v any) error {
	if c.scope != scopeTenant {
		return nil
	}
	return c.checkStruct(reflect.ValueOf(v))
}

func (c *call) checkStruct(v reflect.Value) error {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	for _, f := range objectFieldsOf(v.Type()) {
		fv := v.Field(f.index)
		switch {
		case f.batch:
			for j := range fv.Len() {
				if err := c.checkStruct(batchRequest(fv.Index(j))); err != nil {
					return err
				}
			}
		case f.embedded:
			if err := c.checkStruct(fv); err != nil {
				return err
			}
		default:
			if s := fv.String(); s != "" && !c.declares(f.name, s) {
				return fault.New(fault.Internal, "the route does not declare the object named by field %q", f.name)
			}
		}
	}
	return nil
}

// objectField is a field of a struct type through which a body may name
// an object: an object field (objectFields), an embedded struct holding
// one, or a "batch" whose items hold one.
type objectField struct {
	index           int
	name            string
	embedded, batch bool
}

// objectFieldPlans caches objectFieldsOf by type: a batch checks the
// same item type many times, and reading struct tags is not cheap.
var objectFieldPlans sync.Map // reflect.Type → []objectField

// objectFieldsOf returns the fields of struct type t that checkStruct
// must look at; none for a type that can name no object.
func objectFieldsOf(t reflect.Type) []objectField {
	if p, ok := objectFieldPlans.Load(t); ok {
		return p.([]objectField)
	}
	var out []objectField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous:
			if namesObjects(f.Type) {
				out = append(out, objectField{index: i, embedded: true})
			}
		case name == "batch" && f.Type.Kind() == reflect.Slice:
			if namesObjects(itemType(f.Type.Elem())) {
				out = append(out, objectField{index: i, batch: true})
			}
		case objectFields[name] && f.Type.Kind() == reflect.String:
			out = append(out, objectField{index: i, name: name})
		}
	}
	objectFieldPlans.Store(t, out)
	return out
}

// namesObjects reports whether a value of type t (a struct, or pointers
// to one) can name an object.
func namesObjects(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && len(objectFieldsOf(t)) > 0
}

// requestHolder is a batch item that wraps the request it decoded to
// (item[W]), keeping a decoding error of its own.
type requestHolder interface{ request() any }

// batchRequest is the request a batch item holds: the item itself, or what
// an item[W] decoded.
func batchRequest(v reflect.Value) reflect.Value {
	if it, ok := v.Interface().(requestHolder); ok {
		return reflect.ValueOf(it.request())
	}
	return v
}

// itemType is the type of request a batch item of type t holds.
func itemType(t reflect.Type) reflect.Type {
	if t.Implements(reflect.TypeFor[requestHolder]()) {
		if f, ok := t.FieldByName("req"); ok {
			return f.Type
		}
	}
	return t
}

// declares reports whether the dispatcher decided on value as the object
// of body field, or value is the request's path object or a path value.
func (c *call) declares(field, value string) bool {
	for _, v := range c.named[field] {
		if v == value {
			return true
		}
	}
	if value == c.object {
		return true
	}
	for _, w := range wildcards(c.pattern) {
		if c.r.PathValue(w) == value {
			return true
		}
	}
	return false
}

// wildcards returns the names of a route pattern's path wildcards.
func wildcards(pattern string) []string {
	var out []string
	for _, seg := range strings.Split(pattern, "/") {
		if w, ok := strings.CutPrefix(seg, "{"); ok {
			out = append(out, strings.TrimSuffix(strings.TrimSuffix(w, "}"), "..."))
		}
	}
	return out
}
