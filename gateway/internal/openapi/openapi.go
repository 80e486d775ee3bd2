// Package openapi holds the OpenAPI v2 document of the REST API, generated
// from the protos and rest-v1.yaml by `make generate`.
package openapi

import _ "embed"

// Document is the generated OpenAPI v2 (Swagger) document.
//
//go:embed spec/altus.swagger.json
var Document []byte
