// Package grpcapi adapts the enhancement domain to the generated EnhanceService.
package grpcapi

import (
	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
)

// Server implements enhancev1.EnhanceServiceServer. Every RPC answers
// UNIMPLEMENTED until the enhancement capabilities are built.
type Server struct {
	enhancev1.UnimplementedEnhanceServiceServer
}

// New returns the adapter.
func New() *Server { return &Server{} }
