// Package restjson is how the REST API renders protobuf messages as JSON:
// lowerCamelCase names, unset fields present (null, [] or 0) as v1 clients
// expect, unknown request fields ignored. The gateway renders with it, and
// a service that pre-renders a response for the gateway uses the same
// options, so both give the same bytes.
package restjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// MarshalOptions render responses.
var MarshalOptions = protojson.MarshalOptions{EmitUnpopulated: true}

// UnmarshalOptions read request bodies (leniently: unknown fields are ignored).
var UnmarshalOptions = protojson.UnmarshalOptions{DiscardUnknown: true}

// Render returns m as compact JSON. protojson varies its whitespace from
// build to build on purpose; compacting makes the bytes stable.
func Render(m proto.Message) ([]byte, error) {
	b, err := MarshalOptions.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(b))
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// WithoutKeys returns the compact JSON object obj without its top-level
// members named keys. Nested objects are left alone.
func WithoutKeys(obj []byte, keys ...string) ([]byte, error) {
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return nil, errors.New("restjson: not a compact JSON object")
	}
	drop := make(map[string]bool, len(keys))
	for _, k := range keys {
		drop[k] = true
	}
	out := make([]byte, 0, len(obj))
	out = append(out, '{')
	i := 1
	for i < len(obj)-1 {
		start := i
		keyEnd, err := skipString(obj, i)
		if err != nil {
			return nil, err
		}
		var key string
		if err := json.Unmarshal(obj[i:keyEnd], &key); err != nil {
			return nil, fmt.Errorf("restjson: key at %d: %w", i, err)
		}
		if keyEnd >= len(obj) || obj[keyEnd] != ':' {
			return nil, fmt.Errorf("restjson: expected ':' at %d", keyEnd)
		}
		valEnd, err := skipValue(obj, keyEnd+1)
		if err != nil {
			return nil, err
		}
		if !drop[key] {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, obj[start:valEnd]...)
		}
		i = valEnd
		if i < len(obj)-1 {
			if obj[i] != ',' {
				return nil, fmt.Errorf("restjson: expected ',' at %d", i)
			}
			i++
		}
	}
	return append(out, '}'), nil
}

// Prepend returns the JSON object obj with members (e.g. `"a":1,"b":true`)
// inserted first.
func Prepend(obj []byte, members string) []byte {
	out := make([]byte, 0, len(obj)+len(members)+1)
	out = append(out, '{')
	out = append(out, members...)
	if len(obj) > 2 {
		out = append(out, ',')
	}
	return append(out, obj[1:]...)
}

// skipString returns the index just past the JSON string starting at i.
func skipString(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, fmt.Errorf("restjson: expected a string at %d", i)
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("restjson: unterminated string")
}

// skipValue returns the index just past the compact JSON value starting at i.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("restjson: missing value")
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("restjson: unterminated object or array")
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
			j++
		}
		return j, nil
	}
}
