// Package migrations holds the dbrouter service's SQL migrations (goose
// format), embedded in the binary and applied with pkg/migrate under the
// service name "dbrouter".
package migrations

import "embed"

// FS holds the *.sql migrations at its root.
//
//go:embed *.sql
var FS embed.FS

// Service is the name the migration history is kept under (goose_dbrouter).
const Service = "dbrouter"
