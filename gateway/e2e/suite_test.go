// Package e2e starts the real binaries of the suite against the real MariaDB
// and Redis, and drives the REST API over HTTP the way a client would.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/testenv"
)

// services are the binaries of the suite, in start order.
var services = []string{"cache", "dbrouter", "account", "enhance", "search", "gateway"}

var (
	binDir   string
	buildErr error
	buildMu  sync.Mutex
	built    bool
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "altus-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot finds the directory holding go.work.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.work not found above the test directory")
		}
		dir = parent
	}
}

var (
	altusBuilt bool
	altusErr   error
)

// buildAltus compiles the all-in-one binary (cmd/altus) once per test run.
func buildAltus(t testing.TB) {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if !altusBuilt {
		altusBuilt = true
		root, err := repoRoot()
		if err == nil {
			cmd := exec.Command("go", "build", "-o", binDir+"/", "./cmd/altus")
			cmd.Dir = root
			if out, cerr := cmd.CombinedOutput(); cerr != nil {
				err = fmt.Errorf("go build: %v\n%s", cerr, out)
			}
		}
		altusErr = err
	}
	if altusErr != nil {
		t.Fatal(altusErr)
	}
}

// buildBinaries compiles every service once per test run.
func buildBinaries(t testing.TB) {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if !built {
		built = true
		root, err := repoRoot()
		if err == nil {
			args := []string{"build", "-o", binDir + "/"}
			for _, s := range services {
				if s == "gateway" {
					args = append(args, "./gateway")
				} else {
					args = append(args, "./services/"+s)
				}
			}
			cmd := exec.Command("go", args...)
			cmd.Dir = root
			out, cerr := cmd.CombinedOutput()
			if cerr != nil {
				err = fmt.Errorf("go build: %v\n%s", cerr, out)
			}
		}
		buildErr = err
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// Suite is one running copy of the whole suite.
type Suite struct {
	t        testing.TB
	URL      string
	Env      map[string]string
	DB       *sql.DB // the metadata database
	DBConfig config.MySQL
	procs    map[string]*exec.Cmd
	admin    map[string]string
	grpcPort map[string]string // of each service, in one process (StartOneProcess)
	logs     map[string]*bytes.Buffer
	mu       sync.Mutex
	HTTP     *http.Client
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// StartSuite starts every service with fresh storage. extra overrides
// environment variables for every process.
func StartSuite(t testing.TB, extra map[string]string) *Suite {
	t.Helper()
	buildBinaries(t)
	return startSuite(t, extra, (*Suite).launch)
}

// StartOneProcess starts the all-in-one binary (cmd/altus) with fresh
// storage: every service in one process, each on ports of its own
// (ALTUS_<SVC>_PORT, ALTUS_<SVC>_ADMIN_PORT), the services finding one
// another by the binary's own wiring. Logs(svc) is the process's log for
// every service.
func StartOneProcess(t testing.TB, extra map[string]string) *Suite {
	t.Helper()
	buildAltus(t)
	return startSuite(t, extra, (*Suite).launchOne)
}

func startSuite(t testing.TB, extra map[string]string, launch func(*Suite, testing.TB, map[string]string)) *Suite {
	t.Helper()
	db, dbcfg := testenv.OpenDatabase(t)
	redis := testenv.RedisConfig(t)
	s := &Suite{t: t, DB: db, DBConfig: dbcfg, procs: map[string]*exec.Cmd{}, admin: map[string]string{}, logs: map[string]*bytes.Buffer{}, HTTP: &http.Client{Timeout: 30 * time.Second}}
	env := map[string]string{
		"ALTUS_ENV":             "test",
		"LOG_LEVEL":             "info",
		"JWT_SECRET":            randomHex(32),
		"ENCRYPTION_KEY":        randomHex(32),
		"DB_HOST":               dbcfg.Host,
		"DB_PORT":               strconv.Itoa(dbcfg.Port),
		"DB_USERNAME":           dbcfg.Username,
		"DB_PASSWORD":           dbcfg.Password,
		"DB_DATABASE":           dbcfg.Database,
		"REDIS_HOST":            redis.Host,
		"REDIS_PORT":            strconv.Itoa(redis.Port),
		"ALTUS_REDIS_PREFIX":    redis.Prefix,
		"ALTUS_DRAIN_DELAY":     "0s",
		"ALTUS_STOP_TIMEOUT":    "5s",
		"ALTUS_HEALTH_INTERVAL": "200ms",
		"ALTUS_AUTH_CACHE_TTL":  "1s",
		"ALTUS_AUTH_RATE_LIMIT": "1000",
		"ALLOWED_ORIGINS":       "http://app.example",
	}
	for k, v := range extra {
		env[k] = v
	}
	s.Env = env
	t.Cleanup(s.Stop)
	// Ports are picked free but may be taken by another process before a
	// service binds them; such a start is retried with fresh ports.
	for attempt := 1; ; attempt++ {
		launch(s, t, extra)
		err := s.waitHealthy(60 * time.Second)
		if err == nil && !s.portClash() {
			return s
		}
		// A clash can also look healthy: another process's gRPC server on
		// a service's port answers the gateway's health checks.
		if err == nil {
			err = errors.New("a service could not bind its port")
		}
		if attempt < 3 && s.portClash() {
			t.Logf("a port was taken before a service bound it; restarting the suite (attempt %d)", attempt+1)
			s.Stop()
			continue
		}
		t.Fatal(err)
	}
}

// launch starts every service on fresh ports.
func (s *Suite) launch(t testing.TB, extra map[string]string) {
	t.Helper()
	s.logs = map[string]*bytes.Buffer{}
	addrs := map[string]string{}
	for _, svc := range services {
		if svc == "gateway" {
			continue
		}
		if _, set := extra["ALTUS_"+strings.ToUpper(svc)+"_ADDR"]; set {
			addrs[svc] = extra["ALTUS_"+strings.ToUpper(svc)+"_ADDR"]
		} else {
			addrs[svc] = "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		}
		s.Env["ALTUS_"+strings.ToUpper(svc)+"_ADDR"] = addrs[svc]
	}
	gatewayPort := testenv.FreePort(t)
	s.URL = "http://127.0.0.1:" + strconv.Itoa(gatewayPort)
	for _, svc := range services {
		own := map[string]string{"ALTUS_ADMIN_PORT": strconv.Itoa(testenv.FreePort(t))}
		s.admin[svc] = own["ALTUS_ADMIN_PORT"]
		if svc == "gateway" {
			own["PORT"] = strconv.Itoa(gatewayPort)
		} else {
			_, port, _ := net.SplitHostPort(addrs[svc])
			own["ALTUS_GRPC_PORT"] = port
		}
		s.start(svc, own)
	}
}

// launchOne starts bin/altus on fresh ports.
func (s *Suite) launchOne(t testing.TB, _ map[string]string) {
	t.Helper()
	own := map[string]string{}
	s.grpcPort = map[string]string{}
	for _, svc := range services {
		upper := strings.ToUpper(svc)
		s.admin[svc] = strconv.Itoa(testenv.FreePort(t))
		own["ALTUS_"+upper+"_ADMIN_PORT"] = s.admin[svc]
		if svc == "gateway" {
			port := testenv.FreePort(t)
			own["PORT"] = strconv.Itoa(port)
			s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
			continue
		}
		own["ALTUS_"+upper+"_PORT"] = strconv.Itoa(testenv.FreePort(t))
		s.grpcPort[svc] = own["ALTUS_"+upper+"_PORT"]
	}
	s.logs = map[string]*bytes.Buffer{}
	s.startNamed("altus", "altus", own)
	for _, svc := range services {
		s.logs[svc] = s.logs["altus"]
	}
}

// portClash reports whether a service failed because its port was taken.
func (s *Suite) portClash() bool {
	for name := range s.logs {
		if strings.Contains(s.Logs(name), "address already in use") {
			return true
		}
	}
	return false
}

func (s *Suite) start(svc string, own map[string]string) { s.startNamed(svc, svc, own) }

func (s *Suite) startNamed(name, svc string, own map[string]string) {
	cmd := exec.Command(filepath.Join(binDir, svc))
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range s.Env {
		if _, overridden := own[k]; !overridden {
			environ = append(environ, k+"="+v)
		}
	}
	for k, v := range own {
		environ = append(environ, k+"="+v)
	}
	cmd.Env = environ
	buf := &bytes.Buffer{}
	w := &lockedWriter{mu: &s.mu, w: buf}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", name, err)
	}
	s.procs[name] = cmd
	s.logs[name] = buf
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// StartGateway starts one more gateway replica against the same services
// and returns its URL; it stops with the suite.
func (s *Suite) StartGateway(t testing.TB, name string, extra map[string]string) string {
	t.Helper()
	port := strconv.Itoa(testenv.FreePort(t))
	own := map[string]string{"PORT": port, "ALTUS_ADMIN_PORT": strconv.Itoa(testenv.FreePort(t))}
	for k, v := range extra {
		own[k] = v
	}
	s.startNamed(name, "gateway", own)
	url := "http://127.0.0.1:" + port
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := s.HTTP.Get(url + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("gateway %s not healthy:\n%s", name, s.Logs(name))
	return ""
}

// AdminPort returns the admin (metrics) port of a service.
func (s *Suite) AdminPort(svc string) string { return s.admin[svc] }

// Logs returns what a service has logged so far.
func (s *Suite) Logs(svc string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs[svc].String()
}

// waitHealthy polls GET /health until it answers 200.
func (s *Suite) waitHealthy(within time.Duration) error {
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		resp, err := s.HTTP.Get(s.URL + "/health")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = string(b)
		} else {
			last = err.Error()
		}
		for svc, cmd := range s.procs {
			if cmd.ProcessState != nil {
				return fmt.Errorf("%s exited:\n%s", svc, s.Logs(svc))
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	var logs strings.Builder
	for _, svc := range services {
		fmt.Fprintf(&logs, "--- %s\n%s\n", svc, tail(s.Logs(svc), 3000))
	}
	return fmt.Errorf("suite not healthy within %s; last /health: %s\n%s", within, last, logs.String())
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Stop sends SIGTERM to every process (gateways first) and waits for them.
func (s *Suite) Stop() {
	for name := range s.procs {
		if !slices.Contains(services, name) {
			s.StopService(name)
		}
	}
	for i := len(services) - 1; i >= 0; i-- {
		s.StopService(services[i])
	}
	if s.t.Failed() {
		logged := map[*bytes.Buffer]bool{}
		for _, svc := range services {
			if b := s.logs[svc]; b != nil && !logged[b] {
				logged[b] = true
				s.t.Logf("--- %s log (tail)\n%s", svc, tail(s.Logs(svc), 4000))
			}
		}
	}
}

// StopService stops one service gracefully.
func (s *Suite) StopService(svc string) {
	cmd, ok := s.procs[svc]
	if !ok || cmd.Process == nil {
		return
	}
	delete(s.procs, svc)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Response is a decoded v1 envelope.
type Response struct {
	Status  int
	Header  http.Header
	Raw     []byte
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	} `json:"error"`
	Meta struct {
		Timestamp     string  `json:"timestamp"`
		RequestID     string  `json:"requestId"`
		Version       string  `json:"version"`
		ExecutionTime float64 `json:"executionTime"`
		APIKeyTier    string  `json:"apiKeyTier"`
	} `json:"meta"`
}

// Decode unmarshals the envelope's data into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode data: %v\n%s", err, r.Raw)
	}
}

// Call sends a request. body may be nil, a string (sent as is) or a value (JSON-encoded).
func (s *Suite) Call(t testing.TB, method, path, bearer string, body any, headers ...string) *Response {
	t.Helper()
	return s.CallURL(t, s.URL, method, path, bearer, body, headers...)
}

// CallURL is Call against another gateway replica.
func (s *Suite) CallURL(t testing.TB, base, method, path, bearer string, body any, headers ...string) *Response {
	t.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rdr = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rdr = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, rdr)
	if err != nil {
		t.Fatal(err)
	}
	if rdr != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s %s: %d, body is not JSON: %v\n%s", method, path, resp.StatusCode, err, raw)
	}
	return out
}

// Expect fails unless the response has the status and, for errors, the v1 code.
func Expect(t testing.TB, r *Response, status int, code string) {
	t.Helper()
	if r.Status != status || (code != "" && r.Error.Code != code) {
		t.Fatalf("got %d %s, want %d %s\n%s", r.Status, r.Error.Code, status, code, r.Raw)
	}
	if r.Meta.RequestID == "" || r.Meta.Version == "" || r.Meta.Timestamp == "" {
		t.Fatalf("meta missing: %s", r.Raw)
	}
	if (status < 300) != r.Success {
		t.Fatalf("success = %v for status %d: %s", r.Success, status, r.Raw)
	}
}
