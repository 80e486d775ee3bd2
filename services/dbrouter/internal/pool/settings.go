// Package pool holds the connections to the users' own databases (data
// sources): one bounded pool per source, built on jackc/puddle over
// go-sql-driver/mysql, with an acquire deadline, idle reaping and a health
// check of connections that sat idle; a Manager that keys pools by source
// and settings version; and a one-off live probe used before settings are
// saved.
//
// A pool's resources are *sql.Conn taken from a private sql.DB that keeps no
// idle connections and serves only as a dialer, so destroying a resource
// really closes the driver connection and the pool alone decides how many
// connections a source gets.
package pool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Settings say how to reach one source. They hold the clear-text password:
// keep them in memory only.
type Settings struct {
	Host     string
	Port     int
	Database string
	Username string
	Password string
	// TLS connects over TLS (verified unless Options.TLSSkipVerify).
	TLS bool
}

// Addr returns host:port.
func (s Settings) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Defaults of Options.
const (
	DefaultMaxSize          = 10
	DefaultAcquireTimeout   = 2 * time.Second
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultHealthCheckAfter = 30 * time.Second
	DefaultPingTimeout      = time.Second
	DefaultConnectTimeout   = 5 * time.Second
	DefaultIOTimeout        = 30 * time.Second
)

// Options configure pools and probes. Zero fields take the defaults above.
type Options struct {
	// MaxSize bounds the connections of one pool.
	MaxSize int32
	// AcquireTimeout bounds how long Acquire waits for a connection.
	AcquireTimeout time.Duration
	// IdleTimeout: connections unused for longer are closed by the reaper.
	IdleTimeout time.Duration
	// ReapInterval is how often the reaper runs; 0 derives it from
	// IdleTimeout, a negative value disables the background reaper
	// (ReapIdle can still be called).
	ReapInterval time.Duration
	// HealthCheckAfter: a connection idle for longer is pinged (bounded by
	// PingTimeout) before it is handed out; a dead one is replaced.
	HealthCheckAfter time.Duration
	// PingTimeout bounds the health-check ping.
	PingTimeout time.Duration
	// ConnectTimeout bounds dialing and the live probe.
	ConnectTimeout time.Duration
	// ReadTimeout and WriteTimeout bound each network read and write.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// TLSSkipVerify accepts any server certificate (self-signed
	// development servers only).
	TLSSkipVerify bool
	// Now is the clock used for idleness; nil means time.Now.
	Now func() time.Time
	// Logger receives the driver's own remarks at debug level; nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.AcquireTimeout <= 0 {
		o.AcquireTimeout = DefaultAcquireTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.ReapInterval == 0 {
		o.ReapInterval = min(max(o.IdleTimeout/4, time.Second), time.Minute)
	}
	if o.HealthCheckAfter <= 0 {
		o.HealthCheckAfter = DefaultHealthCheckAfter
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultIOTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultIOTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// driverConfig returns the go-sql-driver configuration of s: bounded
// timeouts, UTC times parsed, utf8mb4 and one statement per query.
// Placeholders are interpolated by the driver (escaped for the connection's
// utf8mb4 and the server's NO_BACKSLASH_ESCAPES status), so a statement
// costs one round trip instead of prepare, execute and close: search
// statements carry a per-call trace comment and time limit, so a
// server-side prepared statement could never be reused anyway. A statement
// whose text holds a "?" outside placeholders (e.g. in a quoted
// identifier) is sent as a real prepared statement by the driver.
func (o Options) driverConfig(s Settings) *mysql.Config {
	c := mysql.NewConfig()
	c.Net = "tcp"
	c.Addr = s.Addr()
	c.User = s.Username
	c.Passwd = s.Password
	c.DBName = s.Database
	c.Timeout = o.ConnectTimeout
	c.ReadTimeout = o.ReadTimeout
	c.WriteTimeout = o.WriteTimeout
	c.ParseTime = true
	c.Loc = time.UTC
	c.Collation = "utf8mb4_unicode_ci"
	c.InterpolateParams = true
	c.MultiStatements = false
	c.AllowAllFiles = false
	if s.TLS {
		c.TLSConfig = "true"
		if o.TLSSkipVerify {
			c.TLSConfig = "skip-verify"
		}
	}
	c.Logger = driverLogger{o.Logger}
	return c
}

type driverLogger struct{ log *slog.Logger }

// Print implements mysql.Logger at debug level.
func (l driverLogger) Print(v ...any) {
	if l.log != nil {
		l.log.Debug("mysql driver", "message", fmt.Sprint(v...))
	}
}

// ConnectError is a failure to reach or log in to a source. Its public
// message names the source's address and what went wrong in terms a person
// can act on; it never names Altus's own addresses.
type ConnectError struct {
	// Addr is the source's host:port.
	Addr string
	// Reason says what went wrong, e.g. "access denied for user 'app'".
	Reason string
	// Err is the driver's error, for logs.
	Err error
}

// Error describes the failure for logs, with the driver's own error.
func (e *ConnectError) Error() string {
	return "connect to " + e.Addr + ": " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the driver's error.
func (e *ConnectError) Unwrap() error { return e.Err }

// PublicMessage is the message for the person who registered the source.
func (e *ConnectError) PublicMessage() string {
	return "Could not connect to " + e.Addr + ": " + e.Reason + "."
}

// connectError classifies err, raised while connecting with s.
func connectError(s Settings, timeout time.Duration, err error) *ConnectError {
	var ce *ConnectError
	if errors.As(err, &ce) {
		return ce
	}
	return &ConnectError{Addr: s.Addr(), Reason: describe(s, timeout, err), Err: err}
}

func describe(s Settings, timeout time.Duration, err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045:
			return fmt.Sprintf("access denied for user '%s' (check the username and password)", s.Username)
		case 1044:
			return fmt.Sprintf("access denied for user '%s' to database '%s' (grant it access or pick another database)", s.Username, s.Database)
		case 1049:
			return fmt.Sprintf("unknown database '%s'", s.Database)
		case 1130:
			return "the server does not accept connections from Altus's address (MySQL error 1130: allow the user to connect from it)"
		case 1040:
			return "the server has too many connections (MySQL error 1040)"
		case 1203, 1226:
			return fmt.Sprintf("user '%s' has exceeded its connection limit (MySQL error %d)", s.Username, me.Number)
		case 3159:
			return "the server requires a secure transport: enable ssl (MySQL error 3159)"
		}
		return fmt.Sprintf("MySQL error %d: %s", me.Number, me.Message)
	}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.Is(err, mysql.ErrNoTLS):
		return "the server does not support SSL: disable ssl or enable TLS on the server"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("host '%s' was not found (check the host name)", s.Host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is the server running and listening on that port?)"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "the host is unreachable from Altus (check the host and any firewall)"
	case errors.As(err, &unknownCA):
		return "the server's TLS certificate is signed by an unknown authority"
	case errors.As(err, &hostErr):
		return "the server's TLS certificate does not match the host name: " + hostErr.Error()
	case errors.As(err, &invalidCert):
		return "the server's TLS certificate is not valid: " + invalidCert.Error()
	case errors.As(err, &certErr):
		return "the server's TLS certificate could not be verified: " + certErr.Err.Error()
	case errors.As(err, &recordErr):
		return "the server did not answer the TLS handshake (is SSL enabled on it?)"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer within %s (check the host, the port and any firewall)", timeout)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, mysql.ErrMalformPkt):
		return "the server closed the connection during the handshake (is it a MySQL or MariaDB server?)"
	}
	return "the connection failed"
}
