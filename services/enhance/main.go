// Command enhance serves altus.enhance.v1.EnhanceService: AI enhancement of
// search through an OpenAI-compatible provider, with local fallbacks.
package main

import (
	"context"

	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/services/enhance/app"
)

func main() { process.Main("enhance", run) }

func run(ctx context.Context, args []string) error { return app.Run(ctx, args, process.Env{}) }
