// Package redistest starts real Redis deployments on loopback for tests: a
// Sentinel-managed master with a replica and three Sentinels, and a
// six-node Redis Cluster. Servers run from /usr/bin/redis-server on free
// ports, keep nothing on disk (--save ” --appendonly no), live in a
// temporary directory and are killed when the deployment is stopped. Every
// wait polls the servers with a bound; none sleeps blindly.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/rueidis"
)

// ServerBin and CLIBin are the Redis programs the deployments run.
const (
	ServerBin = "/usr/bin/redis-server"
	CLIBin    = "/usr/bin/redis-cli"
)

// Bounds of the waits.
const (
	startTimeout = 10 * time.Second
	pollEvery    = 50 * time.Millisecond
)

// Server is one redis-server process (a data node or a Sentinel).
type Server struct {
	// Addr is 127.0.0.1:<port>.
	Addr string
	// Port is the TCP port the server listens on.
	Port int
	cmd  *exec.Cmd
	// exited is closed when the process has been reaped.
	exited chan struct{}
	admin  rueidis.Client
	log    string
}

// start runs redis-server with args (the first may be a config file) in dir,
// listening on port, and waits until it answers PING.
func start(dir string, port int, sentinel bool, args ...string) (*Server, error) {
	if _, err := os.Stat(ServerBin); err != nil {
		return nil, fmt.Errorf("redistest: %s is needed: %w", ServerBin, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, exited: make(chan struct{}), log: filepath.Join(dir, "redis.log")}
	full := append([]string{}, args...)
	full = append(full, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--logfile", s.log, "--daemonize", "no")
	if sentinel {
		full = append(full, "--sentinel")
	} else {
		// Replicas sync at once instead of after the default 5 s wait.
		full = append(full, "--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0")
	}
	s.cmd = exec.Command(ServerBin, full...)
	// The servers die with the test binary, even if it is killed.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("redistest: start %s: %w", ServerBin, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	admin, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{s.Addr}, ForceSingleClient: true, DisableCache: true,
		Dialer: net.Dialer{Timeout: time.Second}, DisableRetry: true})
	if admin == nil {
		s.Kill()
		return nil, fmt.Errorf("redistest: admin client for %s: %w", s.Addr, err)
	}
	s.admin = admin
	err = poll(startTimeout, func() (bool, error) {
		select {
		case <-s.exited:
			return false, fmt.Errorf("redis-server on %s exited: %s", s.Addr, tail(s.log))
		default:
		}
		return s.Do("PING") == nil, nil
	})
	if err != nil {
		s.Kill()
		return nil, fmt.Errorf("redistest: %s did not answer PING: %w", s.Addr, err)
	}
	return s, nil
}

// Do runs one command on the server and returns its error.
func (s *Server) Do(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.admin.Do(ctx, s.admin.B().Arbitrary(args...).Build()).Error()
}

// String runs one command on the server and returns its reply as a string
// (bulk or simple string replies).
func (s *Server) String(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	v, err := s.admin.Do(ctx, s.admin.B().Arbitrary(args...).Build()).ToString()
	// INFO and CLUSTER INFO are RESP3 verbatim strings: "txt:" + text.
	return strings.TrimPrefix(v, "txt:"), err
}

// Info returns field of the server's INFO section (e.g. "replication", "role").
func (s *Server) Info(section, field string) string {
	info, err := s.String("INFO", section)
	if err != nil {
		return ""
	}
	return infoField(info, field)
}

func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// Kill kills the process at once (no save, no goodbye) and waits until it is gone.
func (s *Server) Kill() {
	if s.admin != nil {
		s.admin.Close()
	}
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// poll calls cond every pollEvery until it reports true or an error, or
// until timeout passes.
func poll(timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		<-t.C
	}
}

// Wait polls cond (every 50 ms) until it holds, for at most timeout.
func Wait(timeout time.Duration, cond func() bool) error {
	return poll(timeout, func() (bool, error) { return cond(), nil })
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// freePort returns a port nothing listens on. With bus, port+10000 (the
// Cluster bus port) is free too.
func freePort(bus bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !bus {
			l.Close()
			return port, nil
		}
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		lb, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		l.Close()
		if err != nil {
			continue
		}
		lb.Close()
		return port, nil
	}
	return 0, errors.New("redistest: no free port")
}

// Sentinel is a master, one replica and three Sentinels (quorum 2) that
// watch the master as MasterName.
type Sentinel struct {
	// MasterName is the name of the master set.
	MasterName string
	// Master and Replica are the data servers as started; after a
	// failover Replica is the master.
	Master, Replica *Server
	// Sentinels are the three Sentinels.
	Sentinels []*Server
}

// Timing of the Sentinels: a master is down after DownAfter without answers.
const (
	DownAfter       = 1000 * time.Millisecond
	failoverTimeout = 3000 * time.Millisecond
)

// StartSentinel starts the deployment under dir and waits until every
// Sentinel knows the replica and the two other Sentinels (so that a
// failover can be agreed on). The Sentinels listen on sentinelPorts when
// three are given (so that a client can be pointed at them before they
// start), on free ports otherwise.
func StartSentinel(dir string, sentinelPorts ...int) (_ *Sentinel, err error) {
	d := &Sentinel{MasterName: "altusmaster"}
	defer func() {
		if err != nil {
			d.Stop()
		}
	}()
	port, err := freePort(false)
	if err != nil {
		return nil, err
	}
	if d.Master, err = start(filepath.Join(dir, "master"), port, false); err != nil {
		return nil, err
	}
	if port, err = freePort(false); err != nil {
		return nil, err
	}
	if d.Replica, err = start(filepath.Join(dir, "replica"), port, false, "--replicaof", "127.0.0.1", strconv.Itoa(d.Master.Port)); err != nil {
		return nil, err
	}
	if err := Wait(startTimeout, func() bool { return d.Replica.Info("replication", "master_link_status") == "up" }); err != nil {
		return nil, fmt.Errorf("redistest: replica did not sync with the master: %w", err)
	}
	// Each Sentinel is told the replica and the other Sentinels up front
	// (with fixed ids), so that none has to wait for discovery.
	ports := sentinelPorts
	if len(ports) != 3 {
		ports = make([]int, 3)
		for i := range ports {
			if ports[i], err = freePort(false); err != nil {
				return nil, err
			}
		}
	}
	id := func(i int) string { return strings.Repeat(strconv.Itoa(i+1), 40) }
	for i, port := range ports {
		sdir := filepath.Join(dir, "sentinel"+strconv.Itoa(i))
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return nil, err
		}
		conf := filepath.Join(sdir, "sentinel.conf")
		text := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 2\n"+
			"sentinel down-after-milliseconds %[1]s %[3]d\n"+
			"sentinel failover-timeout %[1]s %[4]d\n"+
			"sentinel parallel-syncs %[1]s 1\n",
			d.MasterName, d.Master.Port, DownAfter.Milliseconds(), failoverTimeout.Milliseconds())
		text += fmt.Sprintf("sentinel myid %s\nsentinel known-replica %s 127.0.0.1 %d\n", id(i), d.MasterName, d.Replica.Port)
		for j, other := range ports {
			if j != i {
				text += fmt.Sprintf("sentinel known-sentinel %s 127.0.0.1 %d %s\n", d.MasterName, other, id(j))
			}
		}
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return nil, err
		}
		s, err := start(sdir, port, true, conf)
		if err != nil {
			return nil, err
		}
		d.Sentinels = append(d.Sentinels, s)
	}
	// Sentinels confirm each other through the master's hello channel
	// (every 2 s) and the replica through INFO.
	err = Wait(30*time.Second, func() bool {
		for _, s := range d.Sentinels {
			info, err := s.String("INFO", "sentinel")
			if err != nil || !strings.Contains(info, "slaves=1,sentinels=3") {
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("redistest: the Sentinels did not see the replica and each other: %w", err)
	}
	return d, nil
}

// Addrs returns the Sentinels' addresses.
func (d *Sentinel) Addrs() []string {
	out := make([]string, len(d.Sentinels))
	for i, s := range d.Sentinels {
		out[i] = s.Addr
	}
	return out
}

// MasterAddr returns the master's address as the first Sentinel that answers reports it.
func (d *Sentinel) MasterAddr() string {
	for _, s := range d.Sentinels {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		a, err := s.admin.Do(ctx, s.admin.B().SentinelGetMasterAddrByName().Master(d.MasterName).Build()).AsStrSlice()
		cancel()
		if err == nil && len(a) == 2 {
			return net.JoinHostPort(a[0], a[1])
		}
	}
	return ""
}

// Stop kills every server.
func (d *Sentinel) Stop() {
	var wg sync.WaitGroup
	for _, s := range append([]*Server{d.Master, d.Replica}, d.Sentinels...) {
		if s != nil {
			wg.Go(s.Kill)
		}
	}
	wg.Wait()
}

// Cluster is a Redis Cluster of three masters, each with one replica.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts six nodes under dir, joins them with
// redis-cli --cluster create … --cluster-replicas 1, and waits until every
// node reports cluster_state:ok and knows all six nodes.
func StartCluster(dir string) (_ *Cluster, err error) {
	c := &Cluster{}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	addrs := make([]string, 6)
	for i := range addrs {
		port, err := freePort(true)
		if err != nil {
			return nil, err
		}
		s, err := start(filepath.Join(dir, "node"+strconv.Itoa(i)), port, false,
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		if err != nil {
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
		addrs[i] = s.Addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, CLIBin, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redistest: redis-cli --cluster create: %w\n%s", err, out)
	}
	var last string
	err = Wait(30*time.Second, func() bool {
		for _, n := range c.Nodes {
			info, err := n.String("CLUSTER", "INFO")
			if err != nil || infoField(info, "cluster_state") != "ok" || infoField(info, "cluster_known_nodes") != "6" ||
				infoField(info, "cluster_slots_ok") != "16384" {
				last = fmt.Sprintf("%s: %v %s", n.Addr, err, info)
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("redistest: cluster_state did not become ok on every node: %w; last: %s", err, last)
	}
	return c, nil
}

// Addrs returns the nodes' addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.Addr
	}
	return out
}

// Stop kills every node.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, s := range c.Nodes {
		wg.Go(s.Kill)
	}
	wg.Wait()
}
