package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/altus4/altus/pkg/testenv"
)

// nginxBinary finds nginx, or fails the test saying how to install it.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("nginx is needed to test gateway replicas behind a load balancer and is not installed: " +
		"run ALTUS_DEPS_NGINX=1 deploy/local/deps.sh (CI's .ci/run does), or apt-get install nginx")
	return ""
}

// startNginx runs nginx in the foreground with the loopback template of
// deploy/local, in front of the given gateway URLs, and returns its URL.
func startNginx(t *testing.T, gateways []string) string {
	t.Helper()
	bin := nginxBinary(t)
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join(root, "deploy/local/nginx-scale.conf.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port := strconv.Itoa(testenv.FreePort(t))
	var servers strings.Builder
	for _, g := range gateways {
		fmt.Fprintf(&servers, "        server %s max_fails=3 fail_timeout=30s;\n", strings.TrimPrefix(g, "http://"))
	}
	user := ""
	if os.Getuid() == 0 {
		user = "user root;"
	}
	conf := strings.NewReplacer("@DIR@", dir, "@PORT@", port, "@USER@", user, "@SERVERS@\n", servers.String()).Replace(string(tmpl))
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "nginx-error.log"), "-g", "daemon off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	url := "http://127.0.0.1:" + port
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := client.Get(url + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
	}
	errLog, _ := os.ReadFile(filepath.Join(dir, "nginx-error.log"))
	t.Fatalf("nginx did not answer /health on %s:\n%s\n%s", url, out.String(), errLog)
	return ""
}

// StartSearchReplica starts one more search service against the suite's
// storage and services and returns its gRPC address; it stops with the
// suite.
func (s *Suite) StartSearchReplica(t *testing.T, name string) string {
	t.Helper()
	port, admin := strconv.Itoa(testenv.FreePort(t)), strconv.Itoa(testenv.FreePort(t))
	s.startNamed(name, "search", map[string]string{"ALTUS_GRPC_PORT": port, "ALTUS_ADMIN_PORT": admin})
	s.admin[name] = admin
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := s.HTTP.Get("http://127.0.0.1:" + admin + "/metrics"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "127.0.0.1:" + port
			}
		}
	}
	t.Fatalf("search replica %s not ready:\n%s", name, s.Logs(name))
	return ""
}

// KillService ends a process with SIGKILL, as a crash would: no draining.
func (s *Suite) KillService(name string) {
	cmd, ok := s.procs[name]
	if !ok || cmd.Process == nil {
		return
	}
	delete(s.procs, name)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// requestCount sums a process's altus4_request_duration_seconds_count
// series whose labels contain route (from its admin /metrics).
func requestCount(t *testing.T, s *Suite, adminPort, route string) int {
	t.Helper()
	return metricSum(t, s, adminPort, "altus4_request_duration_seconds_count{", `route="`+route+`"`)
}

// post sends one search through url and returns the status and v1 error code.
func post(client *http.Client, url, key string, body []byte) (int, string) {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/api/v1/search", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, string(raw)
}

func TestReplicasBehindNginx(t *testing.T) {
	nginxBinary(t)
	s := StartSuite(t, nil)
	u := s.Register(t)
	tenant := TenantDatabase(t)
	conn := s.AddDatabase(t, u, "articles", tenant)

	// Two search replicas (the suite's and one more); two gateways, each
	// dialing both as one comma-separated address list; nginx in front.
	searchB := s.StartSearchReplica(t, "search-b")
	searchAddrs := s.Env["ALTUS_SEARCH_ADDR"] + "," + searchB
	gateway := func(name string) string {
		admin := strconv.Itoa(testenv.FreePort(t))
		url := s.StartGateway(t, name, map[string]string{"ALTUS_SEARCH_ADDR": searchAddrs, "ALTUS_ADMIN_PORT": admin})
		s.admin[name] = admin
		return url
	}
	lb := startNginx(t, []string{gateway("gateway-a"), gateway("gateway-b")})
	adminB := s.AdminPort("gateway-b")

	t.Run("a gateway and a search replica killed under load cost no request", func(t *testing.T) {
		_, key := s.CreateKey(t, u, map[string]any{"name": "load"})
		body := []byte(`{"query":"pooling connections","databases":["` + conn.ID + `"],"limit":5}`)
		client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

		// 6 users send searches; after 150 successes one gateway and one
		// search replica are killed; the run ends 300 successes later
		// (600 requests in all, well under the free tier's 1000 an hour).
		const users, before, after = 6, 150, 300
		var (
			ok       atomic.Int64
			mu       sync.Mutex
			failures []string
			killed   = make(chan struct{})
			stop     = make(chan struct{})
			once     sync.Once
			wg       sync.WaitGroup
		)
		var okAtKill int64 // written before killed is closed, read after
		// A bound on the whole run, should requests keep failing.
		bound := time.AfterFunc(60*time.Second, func() { once.Do(func() { close(stop) }) })
		defer bound.Stop()
		for w := 0; w < users; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					status, detail := post(client, lb, key, body)
					if status != http.StatusOK {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("%d %s", status, detail))
						mu.Unlock()
						continue
					}
					n := ok.Add(1)
					if n == before {
						go func() {
							s.KillService("gateway-a")
							s.KillService("search-b")
							okAtKill = ok.Load()
							close(killed)
						}()
					}
					select {
					case <-killed:
						if n >= okAtKill+after {
							once.Do(func() { close(stop) })
						}
					default:
					}
				}
			}()
		}
		wg.Wait()

		select {
		case <-killed:
		default:
			t.Fatalf("the run ended before the kill: %d successes, %d failures", ok.Load(), len(failures))
		}
		servedB := requestCount(t, s, adminB, "/api/v1/search")
		t.Logf("%d searches succeeded (%d before the kill), %d failed; gateway-b served %d", ok.Load(), okAtKill, len(failures), servedB)
		if len(failures) > 0 {
			t.Fatalf("%d searches failed across the kill of gateway-a and search-b; first: %s", len(failures), failures[0])
		}
		if servedB < after {
			t.Fatalf("gateway-b served %d searches, fewer than the %d made after gateway-a died", servedB, after)
		}
	})

	t.Run("a key's tier is counted once across the replicas behind nginx", func(t *testing.T) {
		lb2 := startNginx(t, []string{gateway("gateway-c"), gateway("gateway-d")})
		_, key := s.CreateKey(t, u, map[string]any{"name": "limited"})

		// 1040 requests with a free-tier key (1000 an hour), spread by
		// least_conn over two gateways.
		var allowed, limited, other atomic.Int64
		var wg sync.WaitGroup
		client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 130; i++ {
					req, _ := http.NewRequest(http.MethodGet, lb2+"/api/v1/search/history", nil)
					req.Header.Set("Authorization", "Bearer "+key)
					resp, err := client.Do(req)
					if err != nil {
						other.Add(1)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusOK:
						allowed.Add(1)
					case http.StatusTooManyRequests:
						limited.Add(1)
					default:
						other.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		c, d := requestCount(t, s, s.AdminPort("gateway-c"), "/api/v1/search/history"), requestCount(t, s, s.AdminPort("gateway-d"), "/api/v1/search/history")
		t.Logf("allowed %d, limited %d, other %d; gateway-c answered %d, gateway-d %d", allowed.Load(), limited.Load(), other.Load(), c, d)
		if allowed.Load() != 1000 || limited.Load() != 40 || other.Load() != 0 {
			t.Fatalf("allowed %d, limited %d, other %d through nginx; want exactly 1000, 40 and 0", allowed.Load(), limited.Load(), other.Load())
		}
		if c == 0 || d == 0 || c+d != 1040 {
			t.Fatalf("gateway-c answered %d and gateway-d %d; want both, 1040 in all", c, d)
		}
	})
}
