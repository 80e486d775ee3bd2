package restjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// HasInt64 reports whether messages of md hold a 64-bit integer field,
// directly or in a nested message (well-known types aside). protojson
// renders those as JSON strings; the REST API's numbers are JSON numbers.
func HasInt64(md protoreflect.MessageDescriptor) bool {
	if v, ok := hasInt64Memo.Load(md.FullName()); ok {
		return v.(bool)
	}
	v := hasInt64(md, map[protoreflect.FullName]bool{})
	hasInt64Memo.Store(md.FullName(), v)
	return v
}

var hasInt64Memo sync.Map

func is64(k protoreflect.Kind) bool {
	switch k {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return true
	}
	return false
}

func wellKnown(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "google.protobuf.")
}

func hasInt64(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] || wellKnown(md) {
		return false
	}
	seen[md.FullName()] = true
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.IsMap() {
			fd = fd.MapValue()
		}
		if is64(fd.Kind()) {
			return true
		}
		if m := fd.Message(); m != nil && hasInt64(m, seen) {
			return true
		}
	}
	return false
}

// Int64sAsNumbers rewrites rendered, the JSON of m (Render), with its
// 64-bit integer fields as JSON numbers instead of strings. Counts never
// come near 2^53, where a JSON number stops being exact.
func Int64sAsNumbers(m proto.Message, rendered []byte) ([]byte, error) {
	return Int64sAsNumbersOf(m.ProtoReflect().Descriptor(), rendered)
}

// Int64sAsNumbersOf is Int64sAsNumbers for the JSON of a message of md or
// of a JSON array of such messages (a response_body list).
func Int64sAsNumbersOf(md protoreflect.MessageDescriptor, rendered []byte) ([]byte, error) {
	if !HasInt64(md) {
		return rendered, nil
	}
	dec := json.NewDecoder(bytes.NewReader(rendered))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("restjson: int64 as numbers: %w", err)
	}
	switch x := v.(type) {
	case map[string]any:
		numbersIn(md, x)
	case []any:
		for _, e := range x {
			if o, ok := e.(map[string]any); ok {
				numbersIn(md, o)
			}
		}
	default:
		return rendered, nil
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("restjson: int64 as numbers: %w", err)
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}

func numbersIn(md protoreflect.MessageDescriptor, obj map[string]any) {
	if wellKnown(md) {
		return
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		v, ok := obj[fd.JSONName()]
		if !ok || v == nil {
			continue
		}
		elem := fd
		if fd.IsMap() {
			elem = fd.MapValue()
		}
		fix := func(v any) any {
			if is64(elem.Kind()) {
				if s, ok := v.(string); ok {
					if _, err := strconv.ParseInt(s, 10, 64); err == nil {
						return json.Number(s)
					}
					if _, err := strconv.ParseUint(s, 10, 64); err == nil {
						return json.Number(s)
					}
				}
				return v
			}
			if m := elem.Message(); m != nil {
				if o, ok := v.(map[string]any); ok {
					numbersIn(m, o)
				}
			}
			return v
		}
		switch {
		case fd.IsList():
			if list, ok := v.([]any); ok {
				for j := range list {
					list[j] = fix(list[j])
				}
			}
		case fd.IsMap():
			if mp, ok := v.(map[string]any); ok {
				for k := range mp {
					mp[k] = fix(mp[k])
				}
			}
		default:
			obj[fd.JSONName()] = fix(v)
		}
	}
}
