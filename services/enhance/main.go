// Command enhance serves altus.enhance.v1.EnhanceService: AI enhancement of
// search through an OpenAI-compatible provider, with local fallbacks.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/altus4/altus/pkg/authn"
	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/services/enhance/internal/config"
	"github.com/altus4/altus/services/enhance/internal/grpcapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "enhance:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	p, err := process.Start(ctx, process.Options{Service: "enhance", Runtime: cfg.Runtime, DefaultAdminPort: config.DefaultAdminPort, Stdout: os.Stdout})
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		p.Log.Warn(w)
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
