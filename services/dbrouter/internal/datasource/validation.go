package datasource

import (
	"net"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/altus4/altus/pkg/validate"
)

// Limits of data source fields.
const (
	maxNameChars     = 100
	maxHostChars     = 255
	maxUsernameChars = 80 // MariaDB's limit (MySQL's is 32)
	maxPasswordBytes = 1024
	maxDatabaseChars = 64
	// DefaultPort is the port of a source registered without one.
	DefaultPort = 3306
)

// Violation codes of the data source fields.
const (
	CodeRequired   = "REQUIRED"
	CodeTooLong    = "TOO_LONG"
	CodeInvalid    = "INVALID"
	CodeOutOfRange = "OUT_OF_RANGE"
)

// databaseName is a plain (unquoted) MySQL identifier.
var databaseName = regexp.MustCompile(`^[A-Za-z0-9_$]+$`)

func checkName(c *validate.Collector, name string) {
	n := utf8.RuneCountInString(name)
	switch {
	case name == "":
		c.Add("name", CodeRequired, "Enter a name for this connection (1 to %d characters).", maxNameChars)
	case n > maxNameChars:
		c.Add("name", CodeTooLong, "The name must be at most %d characters.", maxNameChars)
	}
}

func checkHost(c *validate.Collector, field, host string) {
	switch {
	case host == "":
		c.Add(field, CodeRequired, "Enter the database server's host name or IP address, like db.example.com.")
	case len(host) > maxHostChars:
		c.Add(field, CodeTooLong, "The host must be at most %d characters.", maxHostChars)
	case strings.Contains(host, "://"):
		c.Add(field, CodeInvalid, "Enter the host name only, without a scheme like mysql://.")
	case strings.IndexFunc(host, unicode.IsSpace) >= 0:
		c.Add(field, CodeInvalid, "The host must not contain spaces.")
	case strings.ContainsAny(host, "/?#@[]\\"):
		c.Add(field, CodeInvalid, "Enter a host name or IP address only (no path, user or brackets); put the port in the port field.")
	case strings.Contains(host, ":") && net.ParseIP(host) == nil:
		c.Add(field, CodeInvalid, "Put the port in the port field, not in the host.")
	}
}

func checkPort(c *validate.Collector, field string, port int) {
	if port < 1 || port > 65535 {
		c.Add(field, CodeOutOfRange, "The port must be between 1 and 65535 (MySQL's default is 3306).")
	}
}

func checkDatabase(c *validate.Collector, db string) {
	switch {
	case db == "":
		c.Add("database", CodeRequired, "Enter the name of the database to search.")
	case len(db) > maxDatabaseChars:
		c.Add("database", CodeTooLong, "The database name must be at most %d characters.", maxDatabaseChars)
	case !databaseName.MatchString(db):
		c.Add("database", CodeInvalid, "The database name may only contain letters, digits, _ and $.")
	}
}

func checkUsername(c *validate.Collector, user string) {
	switch {
	case user == "":
		c.Add("username", CodeRequired, "Enter the user Altus should connect as.")
	case utf8.RuneCountInString(user) > maxUsernameChars:
		c.Add("username", CodeTooLong, "The username must be at most %d characters.", maxUsernameChars)
	}
}

func checkPassword(c *validate.Collector, password string) {
	if len(password) > maxPasswordBytes {
		c.Add("password", CodeTooLong, "The password must be at most %d bytes.", maxPasswordBytes)
	}
}

func (in *CreateInput) validate() error {
	in.Name = strings.TrimSpace(in.Name)
	in.Host = strings.TrimSpace(in.Host)
	var c validate.Collector
	checkName(&c, in.Name)
	checkHost(&c, "host", in.Host)
	checkPort(&c, "port", in.port())
	checkDatabase(&c, in.Database)
	checkUsername(&c, in.Username)
	checkPassword(&c, in.Password)
	in.AIEgress = normalizeEgress(in.AIEgress)
	in.AIColumns = checkEgress(&c, in.AIEgress, in.AIColumns)
	in.Replicas = checkReplicas(&c, in.Replicas)
	return c.Err()
}

func (in *UpdateInput) validate() error {
	var c validate.Collector
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
		checkName(&c, *in.Name)
	}
	if in.Host != nil {
		*in.Host = strings.TrimSpace(*in.Host)
		checkHost(&c, "host", *in.Host)
	}
	if in.Port != nil {
		checkPort(&c, "port", *in.Port)
	}
	if in.Database != nil {
		checkDatabase(&c, *in.Database)
	}
	if in.Username != nil {
		checkUsername(&c, *in.Username)
	}
	if in.Password != nil {
		checkPassword(&c, *in.Password)
	}
	switch {
	case in.AIEgress != nil:
		e := normalizeEgress(*in.AIEgress)
		in.AIEgress = &e
		in.AIColumns = checkEgress(&c, e, in.AIColumns)
	case len(in.AIColumns) > 0:
		c.Add("aiColumns", CodeInvalid, "aiColumns replaces the list of a policy: send it with aiEgress %q.", EgressListed)
	}
	if in.ClearReplicas && len(in.Replicas) > 0 {
		c.Add("clearReplicas", CodeInvalid, "Send either replicas (to replace them) or clearReplicas (to remove them), not both.")
	}
	in.Replicas = checkReplicas(&c, in.Replicas)
	return c.Err()
}
