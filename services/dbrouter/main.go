// Command dbrouter serves altus.dbrouter.v1.DBRouterService: the registry of
// the users' own MySQL/MariaDB databases (data sources) with their encrypted
// credentials, a bounded connection pool per source and schema discovery;
// and, for the search service, the description of sources and the
// execution of full-text search plans on them.
//
// Usage:
//
//	dbrouter            serve (applies pending migrations first unless ALTUS_MIGRATE=false)
//	dbrouter migrate    apply pending migrations and exit
package main

import (
	"context"

	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/services/dbrouter/app"
)

func main() { process.Main("dbrouter", run) }

func run(ctx context.Context, args []string) error { return app.Run(ctx, args, process.Env{}) }
