package coer

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// kind is the COER encoding rule selected for a Go type.
type kind uint8

const (
	kUnsupported kind = iota
	kPtr
	kBool
	kUint      // fixed-width (or varint/enum) unsigned integer
	kInt       // fixed-width (or varint/enum) signed integer
	kByteArray // [N]byte: fixed-size OCTET STRING or BIT STRING
	kBytes     // []byte, Open: variable-size OCTET STRING / open type
	kString    // character string
	kBitString // BitString: variable-size BIT STRING
	kOID       // asn1.ObjectIdentifier
	kBigInt    // big.Int: unconstrained INTEGER
	kSeqOf     // other slices: SEQUENCE OF
	kSequence  // struct: SEQUENCE
	kChoice    // struct with the Choice marker: CHOICE
)

// typeInfo is what the codec needs to know about a Go type; it is computed
// once per type and cached in typeCache.
type typeInfo struct {
	kind        kind
	size        int  // byte width of a fixed-width integer (0 for int, uint, uintptr)
	marshaler   bool // *T implements Marshaler
	unmarshaler bool // *T implements Unmarshaler
	st          *structInfo
	err         error // why the type cannot be encoded, for kUnsupported or a bad struct
}

// opts are the encoding options given by a field's tag. They apply through
// pointers and to the elements of a SEQUENCE OF, except open, which applies
// to the field's value as a whole.
type opts struct {
	varint, enum, bits, open bool
	hasSize                  bool
	size                     int
}

// field describes one encoded field of a SEQUENCE or one alternative of a
// CHOICE.
type field struct {
	name     string
	index    int  // index in the Go struct
	optional bool // OPTIONAL, DEFAULT or extension addition: absent ⇔ nil
	opts     opts
}

// structInfo describes a struct's SEQUENCE or CHOICE layout.
type structInfo struct {
	choice     bool
	extensible bool
	fields     []field // root fields/alternatives, then extension additions/alternatives
	nRoot      int     // number of root fields/alternatives in fields
	nOptional  int     // optional root fields of a SEQUENCE (preamble bits after the extension bit)
	unknown    int     // Go index of the `coer:"unknown"` field, or -1
}

var (
	typeCache sync.Map // reflect.Type → *typeInfo

	marshalerType   = reflect.TypeFor[Marshaler]()
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	extensibleType  = reflect.TypeFor[Extensible]()
	choiceType      = reflect.TypeFor[Choice]()
	bitStringType   = reflect.TypeFor[BitString]()
	bigIntType      = reflect.TypeFor[big.Int]()
	bigIntPtrType   = reflect.TypeFor[*big.Int]()
	oidType         = reflect.TypeFor[asn1.ObjectIdentifier]()
	unknownType     = reflect.TypeFor[UnknownExtension]()
	unknownSlice    = reflect.TypeFor[[]UnknownExtension]()
	unknownPtr      = reflect.TypeFor[*UnknownExtension]()
	intType         = reflect.TypeFor[int]()
)

// getTypeInfo returns the cached analysis of t.
func getTypeInfo(t reflect.Type) *typeInfo {
	if ti, ok := typeCache.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti, _ := typeCache.LoadOrStore(t, newTypeInfo(t))
	return ti.(*typeInfo)
}

// newTypeInfo analyses t. It never calls getTypeInfo, so recursive types are
// fine: field types are analysed when they are first encoded or decoded.
func newTypeInfo(t reflect.Type) *typeInfo {
	ti := &typeInfo{}
	if t.Kind() == reflect.Pointer {
		ti.kind = kPtr
		return ti
	}
	pt := reflect.PointerTo(t)
	ti.marshaler = pt.Implements(marshalerType)
	ti.unmarshaler = pt.Implements(unmarshalerType)
	switch t.Kind() {
	case reflect.Bool:
		ti.kind = kBool
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		ti.kind, ti.size = kUint, int(t.Size())
	case reflect.Uint, reflect.Uintptr:
		ti.kind = kUint
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		ti.kind, ti.size = kInt, int(t.Size())
	case reflect.Int:
		ti.kind = kInt
	case reflect.String:
		ti.kind = kString
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			ti.kind = kByteArray
		}
	case reflect.Slice:
		switch {
		case t.Elem().Kind() == reflect.Uint8:
			ti.kind = kBytes
		case isOID(t):
			ti.kind = kOID
		default:
			ti.kind = kSeqOf
		}
	case reflect.Struct:
		switch {
		case t.ConvertibleTo(bitStringType):
			ti.kind = kBitString
		case t.ConvertibleTo(bigIntType):
			ti.kind = kBigInt
		default:
			st, err := analyseStruct(t)
			ti.kind, ti.st, ti.err = kSequence, st, err
			if st != nil && st.choice {
				ti.kind = kChoice
			}
		}
	}
	if ti.kind == kUnsupported && ti.err == nil && !ti.marshaler && !ti.unmarshaler {
		ti.err = fmt.Errorf("unsupported Go type %s", t)
	}
	return ti
}

// isOID reports whether t is asn1.ObjectIdentifier or a named type defined
// on it; an unnamed []int is a SEQUENCE OF.
func isOID(t reflect.Type) bool {
	return t == oidType || (t.Name() != "" && t.Elem() == intType)
}

// analyseStruct parses the field tags of a struct type.
func analyseStruct(t reflect.Type) (*structInfo, error) {
	st := &structInfo{unknown: -1}
	var exts []field
	for i := range t.NumField() {
		sf := t.Field(i)
		switch sf.Type {
		case extensibleType:
			st.extensible = true
			continue
		case choiceType:
			st.choice = true
			continue
		}
		tag := sf.Tag.Get("coer")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		f := field{name: sf.Name, index: i}
		var ext, unknown bool
		for _, opt := range strings.Split(tag, ",") {
			switch opt {
			case "":
			case "optional", "default":
				f.optional = true
			case "ext":
				ext, f.optional = true, true
			case "unknown":
				unknown = true
			case "varint":
				f.opts.varint = true
			case "enum":
				f.opts.enum = true
			case "bits":
				f.opts.bits = true
			case "open":
				f.opts.open = true
			default:
				n, err := strconv.Atoi(strings.TrimPrefix(opt, "size="))
				if !strings.HasPrefix(opt, "size=") || err != nil || n < 0 {
					return nil, fmt.Errorf("%s.%s: unknown tag option %q", t, sf.Name, opt)
				}
				f.opts.hasSize, f.opts.size = true, n
			}
		}
		if unknown {
			if st.unknown >= 0 {
				return nil, fmt.Errorf("%s: more than one unknown field", t)
			}
			st.unknown = i
			continue
		}
		if err := checkField(sf.Type, &f); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t, sf.Name, err)
		}
		if ext {
			exts = append(exts, f)
			continue
		}
		if len(exts) > 0 {
			return nil, fmt.Errorf("%s.%s: root field after an extension addition", t, sf.Name)
		}
		if f.optional {
			st.nOptional++
		}
		st.fields = append(st.fields, f)
	}
	st.nRoot = len(st.fields)
	st.fields = append(st.fields, exts...)
	switch {
	case len(exts) > 0 && !st.extensible:
		return nil, fmt.Errorf("%s: extension fields in a type without the Extensible marker", t)
	case st.unknown >= 0 && !st.extensible:
		return nil, fmt.Errorf("%s: unknown field in a type without the Extensible marker", t)
	case st.unknown >= 0 && st.choice && t.Field(st.unknown).Type != unknownPtr:
		return nil, fmt.Errorf("%s: the unknown field of a CHOICE must be *coer.UnknownExtension", t)
	case st.unknown >= 0 && !st.choice && t.Field(st.unknown).Type != unknownSlice:
		return nil, fmt.Errorf("%s: the unknown field of a SEQUENCE must be []coer.UnknownExtension", t)
	case st.choice && len(st.fields) == 0:
		return nil, fmt.Errorf("%s: CHOICE without alternatives", t)
	case st.choice && st.nOptional > 0:
		return nil, fmt.Errorf("%s: optional/default tag on a CHOICE alternative", t)
	}
	if st.choice {
		for _, f := range st.fields {
			if !nilable(t.Field(f.index).Type) {
				return nil, fmt.Errorf("%s.%s: a CHOICE alternative must be a pointer or a slice", t, f.name)
			}
		}
	}
	return st, nil
}

// checkField rejects tag options that do not fit the field's type.
func checkField(t reflect.Type, f *field) error {
	if f.optional && !nilable(t) {
		return errors.New("an optional, default or ext field must be a pointer or a slice")
	}
	if t == unknownType || t == unknownSlice || t == unknownPtr {
		return errors.New(`an UnknownExtension field needs the tag coer:"unknown"`)
	}
	// Find the type the options apply to: through pointers and SEQUENCE OF.
	for {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		} else if t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 && !isOID(t) {
			t = t.Elem()
		} else {
			break
		}
	}
	if pt := reflect.PointerTo(t); pt.Implements(marshalerType) || pt.Implements(unmarshalerType) {
		return nil
	}
	o := f.opts
	isInt := false
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		isInt = true
	}
	switch {
	case o.varint && o.enum:
		return errors.New("both varint and enum")
	case o.varint && !isInt && !t.ConvertibleTo(bigIntType):
		return fmt.Errorf("varint on non-integer type %s", t)
	case o.enum && !isInt:
		return fmt.Errorf("enum on non-integer type %s", t)
	case o.bits && !(t.Kind() == reflect.Array && t.Elem().Kind() == reflect.Uint8):
		return fmt.Errorf("bits on %s, want [N]byte", t)
	case o.hasSize && t.Kind() != reflect.String && !(t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8):
		return fmt.Errorf("size on %s, want string or []byte", t)
	}
	return nil
}

func nilable(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice
}

// pathError is an error with the path of Go names leading to it.
type pathError struct {
	path []string // innermost first
	err  error
}

func (e *pathError) Error() string {
	var sb strings.Builder
	sb.WriteString("coer: ")
	for i := len(e.path) - 1; i >= 0; i-- {
		p := e.path[i]
		if len(e.path) > 20 && i == len(e.path)-10 {
			// Elide the middle of very deep paths.
			sb.WriteString("…")
			i = 10
			continue
		}
		if i != len(e.path)-1 && !strings.HasPrefix(p, "[") {
			sb.WriteByte('.')
		}
		sb.WriteString(p)
	}
	if len(e.path) > 0 {
		sb.WriteString(": ")
	}
	sb.WriteString(e.err.Error())
	return sb.String()
}

func (e *pathError) Unwrap() error { return e.err }

// at adds a path element (a field name or "[i]") in front of err's path.
func at(err error, elem string) error {
	if pe, ok := err.(*pathError); ok {
		pe.path = append(pe.path, elem)
		return pe
	}
	return &pathError{path: []string{elem}, err: err}
}

func atIndex(err error, i int) error { return at(err, "["+strconv.Itoa(i)+"]") }

// rootName names the top-level type in error paths.
func rootName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() != "" {
		return t.Name()
	}
	return t.String()
}

// maxDepth bounds the nesting of values (each pointer, field, element or
// alternative is a level), so that recursive types such as IEEE 1609.2's
// Ieee1609Dot2Data cannot exhaust the stack on hostile input or a cyclic value.
const maxDepth = 2000

var errTooDeep = fmt.Errorf("values nested more than %d deep", maxDepth)

func errTruncated(need, have int) error {
	return fmt.Errorf("truncated input: need %d bytes, have %d", need, have)
}

func errNonCanonical(format string, args ...any) error {
	return fmt.Errorf("non-canonical encoding: "+format, args...)
}
