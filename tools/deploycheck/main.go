// Command deploycheck renders and validates the deployment files under
// deploy/ offline: the Kubernetes overlays (rendered with the kustomize
// API, every object decoded strictly into its k8s.io/api type, and the
// suite's invariants checked), the Prometheus rules and the Grafana
// dashboard (PromQL parsed, every metric and label checked against the
// metrics the code registers), the compose file and the Dockerfiles
// (against the services' configuration and packages), and the nginx and
// HAProxy configurations (nginx -t / haproxy -c when installed).
//
//	go run . -root ../..                                   # check everything
//	go run . -root ../.. -render deploy/k8s/overlays/production   # print a rendering
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	root := flag.String("root", ".", "repository root")
	render := flag.String("render", "", "print the rendering of this kustomization directory and exit")
	noTools := flag.Bool("no-tools", false, "do not run nginx -t / haproxy -c even when installed")
	flag.Parse()
	if *render != "" {
		out, err := Render(*render)
		if err != nil {
			fmt.Fprintln(os.Stderr, "deploycheck:", err)
			os.Exit(1)
		}
		os.Stdout.Write(out)
		return
	}
	start := time.Now()
	r, err := CheckAll(*root, !*noTools)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploycheck:", err)
		os.Exit(1)
	}
	for _, n := range r.Notes {
		fmt.Println("ok  ", n)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(os.Stderr, "deploycheck: %d problems:\n%s", len(r.Problems), r.String())
		os.Exit(1)
	}
	fmt.Printf("deploycheck: deploy/ is consistent (%s)\n", time.Since(start).Round(time.Millisecond))
}

// Overlays are the Kubernetes overlays under deploy/k8s/overlays.
var Overlays = []string{"development", "production"}

// CheckAll runs every check on the repository at root.
func CheckAll(root string, runTools bool) (*Report, error) {
	f, err := LoadFacts(root)
	if err != nil {
		return nil, fmt.Errorf("reading the suite's configuration and metrics: %w", err)
	}
	r := &Report{}
	deploy := filepath.Join(root, "deploy")
	CheckOverlays(f, filepath.Join(deploy, "k8s"), Overlays, r)
	CheckRules(filepath.Join(deploy, "prometheus", "alerts.yaml"), f, r)
	CheckDashboard(filepath.Join(deploy, "grafana", "altus.json"), f, r)
	CheckCompose(filepath.Join(deploy, "compose", "compose.yaml"), f, r)
	CheckDockerfiles(filepath.Join(deploy, "docker"), f, r)
	CheckLoadBalancers(root, f, runTools, r)
	return r, nil
}
