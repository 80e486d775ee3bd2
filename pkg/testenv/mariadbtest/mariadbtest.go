// Package mariadbtest starts real MariaDB replication for tests: a primary
// (binary log, server id 1) and replicas (server ids 2, 3, ...) replicating
// from it with GTID, each a mariadbd of its own in a temporary directory, on
// its own port and socket. The machine's own MariaDB is never touched.
//
// The servers are meant to be started once per test binary (TestMain:
// Start, then Close); every child runs in its own process group and is
// killed when the test binary dies (Pdeathsig), and by Close.
package mariadbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Binaries used; both come with the MariaDB server package.
const (
	Mariadbd         = "/usr/sbin/mariadbd"
	MariadbInstallDB = "/usr/bin/mariadb-install-db"
)

// Options say what Start sets up.
type Options struct {
	// Replicas is the number of replicas (at least 1).
	Replicas int
	// Setup runs as root on the primary (and so reaches the replicas)
	// before replication starts: the tests' accounts, grants and
	// databases. A replication account 'repl' is created besides.
	Setup []string
}

// ReadyTimeout bounds the wait for a server to accept connections.
const ReadyTimeout = 60 * time.Second

// Server is one mariadbd.
type Server struct {
	// Name is "primary" or "replica".
	Name string
	// Port is its TCP port on 127.0.0.1.
	Port int
	dir  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	root *sql.DB
}

// Pair is a primary and its replicas.
type Pair struct {
	Primary *Server
	// Replica is the first replica (Replicas[0]).
	Replica *Server
	// Replicas replicate from Primary.
	Replicas []*Server
}

// freePort returns a TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start creates the servers under dir (one datadir installed once and
// copied), starts them, creates the replication and application accounts
// and the test database on the primary, and starts replication on the
// replica. Close them with Pair.Close.
func Start(ctx context.Context, dir string, o Options) (*Pair, error) {
	n := max(o.Replicas, 1)
	for _, bin := range []string{Mariadbd, MariadbInstallDB} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("mariadbtest: %s is required: %w", bin, err)
		}
	}
	base := filepath.Join(dir, "base")
	install := exec.CommandContext(ctx, MariadbInstallDB, "--no-defaults", "--datadir="+base,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--user=root")
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadbtest: mariadb-install-db: %w\n%s", err, out)
	}
	p := &Pair{}
	var err error
	if p.Primary, err = newServer(dir, base, "primary", 1, "--log-bin=binlog", "--binlog-format=ROW"); err != nil {
		return nil, err
	}
	for i := range n {
		name := "replica"
		if i > 0 {
			name += strconv.Itoa(i + 1)
		}
		r, err := newServer(dir, base, name, i+2, "--read-only", "--relay-log=relay")
		if err != nil {
			return nil, err
		}
		p.Replicas = append(p.Replicas, r)
	}
	p.Replica = p.Replicas[0]
	for _, s := range append([]*Server{p.Primary}, p.Replicas...) {
		if err := s.Start(ctx); err != nil {
			p.Close()
			return nil, err
		}
	}
	if err := p.setUp(ctx, o.Setup); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func newServer(dir, base, name string, id int, extra ...string) (*Server, error) {
	sdir := filepath.Join(dir, name)
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return nil, err
	}
	data := filepath.Join(sdir, "data")
	if out, err := exec.Command("cp", "-a", base, data).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadbtest: copy datadir: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--no-defaults", "--user=root",
		"--datadir=" + data,
		"--port=" + strconv.Itoa(port), "--bind-address=127.0.0.1",
		"--socket=" + filepath.Join(sdir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(sdir, "mysqld.pid"),
		"--log-error=" + filepath.Join(sdir, "error.log"),
		"--server-id=" + strconv.Itoa(id),
		"--skip-name-resolve",
		"--innodb-buffer-pool-size=32M",
		"--innodb-log-file-size=16M",
		"--max-connections=300",
	}, extra...)
	return &Server{Name: name, Port: port, dir: sdir, args: args}, nil
}

// Addr returns 127.0.0.1:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Start starts the server (again, after Kill) with its datadir and port,
// and waits until it accepts connections.
func (s *Server) Start(ctx context.Context) error {
	cmd := exec.Command(Mariadbd, s.args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("mariadbtest: start %s: %w", s.Name, err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.done)
	if s.root == nil {
		cfg := mysql.NewConfig()
		cfg.Net, cfg.Addr, cfg.User = "tcp", s.Addr(), "root"
		cfg.Timeout = 2 * time.Second
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			return err
		}
		s.root = sql.OpenDB(c)
	}
	return s.waitReady(ctx)
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := s.root.PingContext(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
			return fmt.Errorf("mariadbtest: %s exited before accepting connections:\n%s", s.Name, log)
		case <-ctx.Done():
			return fmt.Errorf("mariadbtest: %s not ready within %s: %w", s.Name, ReadyTimeout, err)
		case <-tick.C:
		}
	}
}

// Kill kills the server (SIGKILL, as a crash would) and waits for it to
// exit; its datadir stays for Start.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	s.cmd = nil
	// Connections to the dead server are useless now.
	s.root.SetMaxIdleConns(0)
	s.root.SetMaxIdleConns(2)
}

// Root returns a root connection pool to the server.
func (s *Server) Root() *sql.DB { return s.root }

// Exec runs statements as root, in order.
func (s *Server) Exec(ctx context.Context, stmts ...string) error {
	for _, st := range stmts {
		if _, err := s.root.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("mariadbtest: %s: %s: %w", s.Name, st, err)
		}
	}
	return nil
}

// Status returns a counter of SHOW GLOBAL STATUS (Com_select, Com_insert, ...).
func (s *Server) Status(ctx context.Context, name string) (int64, error) {
	var got string
	var n int64
	err := s.root.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE '"+name+"'").Scan(&got, &n)
	return n, err
}

// ComSelect returns the server's count of SELECT statements so far
// (SHOW GLOBAL STATUS Com_select): the difference over a test says how
// many statements it answered.
func (s *Server) ComSelect(ctx context.Context) (int64, error) {
	var name string
	var n int64
	err := s.root.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Com_select'").Scan(&name, &n)
	return n, err
}

func (p *Pair) setUp(ctx context.Context, setup []string) error {
	if err := p.Primary.Exec(ctx, append([]string{
		"CREATE USER 'repl'@'%' IDENTIFIED BY 'repl-secret'",
		"GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'",
	}, setup...)...); err != nil {
		return err
	}
	for _, r := range p.Replicas {
		if err := r.Exec(ctx,
			"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT="+strconv.Itoa(p.Primary.Port)+
				", MASTER_USER='repl', MASTER_PASSWORD='repl-secret', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
			"START SLAVE",
		); err != nil {
			return err
		}
	}
	return p.WaitCaughtUp(ctx)
}

// WaitCaughtUp waits (bounded by ReadyTimeout) until every replica has
// applied everything the primary has written so far.
func (p *Pair) WaitCaughtUp(ctx context.Context) error {
	var pos string
	if err := p.Primary.root.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		return fmt.Errorf("mariadbtest: primary position: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	// MASTER_GTID_WAIT blocks on the replica until the position is applied.
	for _, r := range p.Replicas {
		var res int
		if err := r.root.QueryRowContext(ctx, "SELECT MASTER_GTID_WAIT(?, ?)", pos, ReadyTimeout.Seconds()).Scan(&res); err != nil {
			return fmt.Errorf("mariadbtest: wait for %s: %w", r.Name, err)
		}
		if res != 0 {
			return fmt.Errorf("mariadbtest: %s did not catch up with the primary in time", r.Name)
		}
	}
	return nil
}

// Close kills both servers and waits for them to exit.
func (p *Pair) Close() {
	for _, s := range append([]*Server{p.Primary}, p.Replicas...) {
		if s == nil {
			continue
		}
		s.Kill()
		if s.root != nil {
			_ = s.root.Close()
		}
	}
}
