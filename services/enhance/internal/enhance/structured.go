package enhance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
)

// decodeStrict decodes one JSON value into out, refusing unknown fields
// and trailing data: anything else is malformed output.
func decodeStrict(content []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedOutput, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data", ErrMalformedOutput)
	}
	return nil
}

// malformed returns an ErrMalformedOutput saying what is wrong.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedOutput, fmt.Sprintf(format, args...))
}

// object is a strict JSON schema object: every property required, no others.
func object(props map[string]any) map[string]any {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return map[string]any{"type": "object", "properties": props, "required": keys, "additionalProperties": false}
}

func array(items map[string]any) map[string]any {
	return map[string]any{"type": "array", "items": items}
}

func stringSchema() map[string]any { return map[string]any{"type": "string"} }

func numberSchema() map[string]any { return map[string]any{"type": "number"} }

func boolSchema() map[string]any { return map[string]any{"type": "boolean"} }

func enumSchema(values ...string) map[string]any {
	return map[string]any{"type": "string", "enum": values}
}

// unit reports whether x is a number in [0, 1].
func unit(x float64) bool { return !math.IsNaN(x) && x >= 0 && x <= 1 }

// round3 rounds x to 3 decimals, as scores are answered.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// mustJSON encodes a prompt's data (plain values only, so it cannot fail).
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}
