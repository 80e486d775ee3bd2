// Command account serves altus.account.v1.AccountService: users, session
// tokens and API keys, kept in the metadata database.
//
// Usage:
//
//	account            serve (applies pending migrations first unless ALTUS_MIGRATE=false)
//	account migrate    apply pending migrations and exit
package main

import (
	"context"

	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/services/account/app"
)

func main() { process.Main("account", run) }

func run(ctx context.Context, args []string) error { return app.Run(ctx, args, process.Env{}) }
