package fulltext

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/altus4/altus/services/dbrouter/internal/schema"
)

// keyKind is how the values of one primary key column travel as strings:
// plans and fetches return them encoded (EncodeKeyValue), and a fetch
// decodes the keys it is given back into what the server compares with
// the column. Every value a plan returns round-trips through a fetch.
type keyKind int

const (
	// keyText: the value as the server prints it, bound as a string and
	// compared by the server's rules (the column's collation for text,
	// conversion for DECIMAL, FLOAT, TIME, YEAR, ENUM...).
	keyText keyKind = iota
	// keyInteger (TINYINT..BIGINT, signed or not): decimal, bound as an
	// integer. A value that is no integer is refused: bound as a string,
	// the server would convert it ("abc" matches the row 0, "7.4" the row
	// 7), and MySQL documents string-to-integer comparisons as doubles,
	// inexact past 2^53.
	keyInteger
	// keyBits (BIT): the unsigned decimal value (the driver reads the raw
	// bits, which are no text), bound as an integer.
	keyBits
	// keyBinary (BINARY, VARBINARY, BLOB): lowercase hex of the bytes
	// (raw bytes are not valid UTF-8 strings), bound as bytes; either case
	// is accepted.
	keyBinary
	// keyTime (DATE, DATETIME, TIMESTAMP): RFC 3339 in UTC, as the driver
	// reads them (e.g. "2024-05-01T10:30:00Z"), bound as a time.
	keyTime
)

// kindOf returns how the values of column c travel.
func kindOf(c schema.Column) keyKind {
	switch strings.ToLower(c.Type) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return keyInteger
	case "bit":
		return keyBits
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return keyBinary
	case "date", "datetime", "timestamp":
		return keyTime
	}
	return keyText
}

// pkKinds returns the kinds of t's primary key columns, in key order.
func pkKinds(t schema.Table) []keyKind {
	kinds := make([]keyKind, len(t.PrimaryKey))
	for i, name := range t.PrimaryKey {
		if c, ok := t.Column(name); ok {
			kinds[i] = kindOf(c)
		}
	}
	return kinds
}

// encode turns a value as scanned from the driver into its string form.
func (k keyKind) encode(raw string) string {
	switch k {
	case keyBinary:
		return hex.EncodeToString([]byte(raw))
	case keyBits:
		if len(raw) > 8 {
			return hex.EncodeToString([]byte(raw)) // not a BIT(n ≤ 64) value
		}
		var b [8]byte
		copy(b[8-len(raw):], raw)
		return strconv.FormatUint(binary.BigEndian.Uint64(b[:]), 10)
	}
	return raw
}

// Errors of decoding a key value; the messages say what is expected.
var (
	errNotInteger = errors.New("an integer in decimal, as plans return it")
	errNotHex     = errors.New("hexadecimal digits (two per byte), as plans return it")
	errNotTime    = errors.New("an RFC 3339 time such as 2024-05-01T10:30:00Z, as plans return it")
)

// decode turns a key value in its string form into the argument compared
// with the column.
func (k keyKind) decode(v string) (any, error) {
	switch k {
	case keyInteger:
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(v, 10, 64); err == nil {
			return u, nil
		}
		return nil, errNotInteger
	case keyBits:
		u, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, errNotInteger
		}
		return u, nil
	case keyBinary:
		b, err := hex.DecodeString(v)
		if err != nil {
			return nil, errNotHex
		}
		if b == nil {
			b = []byte{} // the empty value, not NULL
		}
		return b, nil
	case keyTime:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, errNotTime
		}
		return t.UTC(), nil
	}
	return v, nil
}

// encodeKeys rewrites the primary key values of rows (the first
// len(kinds) values of each) into their string form.
func encodeKeys(rows []Row, kinds []keyKind) {
	for i, k := range kinds {
		if k != keyBinary && k != keyBits {
			continue
		}
		for _, r := range rows {
			if i < len(r.Values) && !r.Nulls[i] {
				r.Values[i] = k.encode(r.Values[i])
			}
		}
	}
}
