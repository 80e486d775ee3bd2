// Command search serves altus.search.v1.SearchService: live full-text search
// over the users' registered databases, their search history and trends.
//
// Usage:
//
//	search            serve (applies pending migrations first unless ALTUS_MIGRATE=false)
//	search migrate    apply pending migrations and exit
package main

import (
	"context"

	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/services/search/app"
)

func main() { process.Main("search", run) }

func run(ctx context.Context, args []string) error { return app.Run(ctx, args, process.Env{}) }
