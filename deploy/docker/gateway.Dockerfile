# syntax=docker/dockerfile:1
# The gateway binary, built from the repository root (the go.work layout):
#   docker build -f deploy/docker/gateway.Dockerfile -t altus4/gateway:5.0.0 .
# A static binary on distroless/static, run as the nonroot user (65532).
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
# The workspace needs every module's go.mod; the sources are copied below
# only for the modules this binary builds from, so that a change elsewhere
# keeps the download layer cached.
COPY go.work go.work.sum ./
COPY pkg/go.mod pkg/go.sum pkg/
COPY gateway/go.mod gateway/go.sum gateway/
COPY services/account/go.mod services/account/go.sum services/account/
COPY services/cache/go.mod services/cache/go.sum services/cache/
COPY services/dbrouter/go.mod services/dbrouter/go.sum services/dbrouter/
COPY services/enhance/go.mod services/enhance/go.sum services/enhance/
COPY services/search/go.mod services/search/go.sum services/search/
COPY cmd/altus/go.mod cmd/altus/go.sum cmd/altus/
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY pkg/ pkg/
COPY gateway/ gateway/
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/gateway ./gateway

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gateway /gateway
USER 65532:65532
EXPOSE 3000 9090
ENTRYPOINT ["/gateway"]
