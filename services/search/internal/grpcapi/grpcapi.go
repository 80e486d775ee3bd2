// Package grpcapi adapts the search domain to the generated SearchService.
package grpcapi

import (
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
)

// Server implements searchv1.SearchServiceServer. Every RPC answers
// UNIMPLEMENTED until the search engine is built.
type Server struct {
	searchv1.UnimplementedSearchServiceServer
}

// New returns the adapter.
func New() *Server { return &Server{} }
