// Command enhance serves altus.enhance.v1.EnhanceService: AI enhancement of
// search through an OpenAI-compatible provider, with local fallbacks.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/altus4/altus/pkg/authn"
	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/services/enhance/internal/config"
	"github.com/altus4/altus/services/enhance/internal/grpcapi"
)

func main() { process.Main("enhance", run) }

func run(ctx context.Context, args []string) error {
	if err := process.NoArgs("enhance", args); err != nil {
		return err
	}
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	p, err := process.Start(ctx, process.Options{Service: "enhance", Runtime: cfg.Runtime, DefaultAdminPort: config.DefaultAdminPort, Stdout: os.Stdout, Warnings: cfg.Warnings})
	if err != nil {
		return err
	}

	accountConn, err := grpcx.Dial(cfg.Services.Account)
	if err != nil {
		return fmt.Errorf("account client: %w", err)
	}
	p.App.AddCloser("account client", func(context.Context) error { return accountConn.Close() })

	srv := grpcx.NewServer(grpcx.ServerOptions{
		Logger:        p.Log,
		Registry:      p.Registry,
		Signer:        identity.NewSigner(cfg.Secrets.JWTSecret),
		Authenticator: authn.New(accountv1.NewAccountServiceClient(accountConn), authn.DefaultTTL, authn.DefaultCacheSize),
	})
	enhancev1.RegisterEnhanceServiceServer(srv, grpcapi.New())
	if err := p.ServeGRPC(srv, cfg.GRPCPort); err != nil {
		return err
	}
	return p.Run(ctx)
}
