// Command altus-demo builds the demo data of `make run` from text that ships
// with Debian and provisions a demo user for it through the REST API.
//
//	altus-demo load       create altus_demo_packages and altus_demo_changelogs on the
//	                      local MariaDB (skipped when already loaded) and the
//	                      read-only account the sources are registered with
//	altus-demo provision  register or log in a user, register both databases,
//	                      make API keys, write an env file (.run/demo.env)
//
// The database server is the one named by DB_HOST, DB_PORT, DB_USERNAME and
// DB_PASSWORD (the suite's metadata server; the demo databases are separate
// schemas on it). deploy/local/demo.sh runs both commands after `make run`.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// exitStale is the exit status of `load -check` when the data must be loaded.
const exitStale = 3

// exitOtherPassword is the exit status of `provision` when the user exists
// with a password other than the one given (demo.sh then picks another user).
const exitOtherPassword = 4

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	var st exitStatus
	switch {
	case errors.As(err, &st):
		os.Exit(int(st))
	case errors.Is(err, errOtherPassword):
		fmt.Fprintln(os.Stderr, "altus-demo:", err)
		os.Exit(exitOtherPassword)
	case err != nil:
		fmt.Fprintln(os.Stderr, "altus-demo:", err)
		os.Exit(1)
	}
}

// exitStatus is an error that only sets the exit status.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

const usage = `usage: altus-demo load [flags]       create the demo databases (skipped when loaded)
       altus-demo provision [flags]  demo user, sources and API keys through the REST API
Run with -h after a command for its flags.`

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "load":
		return runLoad(ctx, args[1:], out)
	case "provision":
		return runProvision(ctx, args[1:], out)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(out, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// serverDSN is the DSN of the database server named by DB_HOST, DB_PORT,
// DB_USERNAME, DB_PASSWORD, with no default schema.
func serverDSN() string {
	c := mysql.NewConfig()
	c.Net = "tcp"
	c.Addr = net.JoinHostPort(getenv("DB_HOST", "127.0.0.1"), getenv("DB_PORT", "3306"))
	c.User = getenv("DB_USERNAME", "root")
	c.Passwd = os.Getenv("DB_PASSWORD")
	c.ParseTime = true
	c.Loc = time.UTC
	c.Collation = "utf8mb4_unicode_ci"
	c.Params = map[string]string{"time_zone": "'+00:00'"}
	// Client-side placeholders: one round trip per batch, and CREATE USER
	// ... IDENTIFIED BY ? works (it cannot be prepared).
	c.InterpolateParams = true
	c.MaxAllowedPacket = 0 // read the server's max_allowed_packet
	return c.FormatDSN()
}

func openServer(ctx context.Context) (*sql.DB, error) {
	db, err := sql.Open("mysql", serverDSN())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to MariaDB at %s:%s as %s: %w",
			getenv("DB_HOST", "127.0.0.1"), getenv("DB_PORT", "3306"), getenv("DB_USERNAME", "root"), err)
	}
	return db, nil
}

func runLoad(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	pkgDB := fs.String("packages-db", "altus_demo_packages", "database of the Debian package descriptions")
	chDB := fs.String("changelogs-db", "altus_demo_changelogs", "database of the Debian changelogs and documentation files")
	lists := fs.String("lists", "/var/lib/apt/lists", "apt's lists folder (Translation-en files)")
	docs := fs.String("docs", "/usr/share/doc", "folder of the packages' documentation (changelog.Debian.gz)")
	readerUser := fs.String("reader-user", "altus_demo", "read-only account to create for the demo databases")
	readerPassword := fs.String("reader-password", os.Getenv("ALTUS_DEMO_DB_PASSWORD"), "its password (default $ALTUS_DEMO_DB_PASSWORD)")
	force := fs.Bool("force", false, "reload even when the databases hold the expected rows")
	check := fs.Bool("check", false, "only report whether a load is needed (exit status 0: loaded, 3: needed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, n := range []string{*pkgDB, *chDB, *readerUser} {
		if !validName(n) {
			return fmt.Errorf("%q is not a plain name (letters, digits, _)", n)
		}
	}
	if !*check && *readerPassword == "" {
		return errors.New("the read-only account needs a password: -reader-password or ALTUS_DEMO_DB_PASSWORD")
	}

	t0 := time.Now()
	pkgs, err := dumpavail(ctx)
	if err != nil {
		return err
	}
	entries, docFiles, err := ScanDocs(*docs)
	if err != nil {
		return err
	}
	parsed := time.Since(t0)

	db, err := openServer(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	pkgFresh, err := upToDate(ctx, db, *pkgDB, map[string]int{packagesTable.Name: len(pkgs)})
	if err != nil {
		return err
	}
	chFresh, err := upToDate(ctx, db, *chDB, map[string]int{changelogTable.Name: len(entries), docFilesTable.Name: len(docFiles)})
	if err != nil {
		return err
	}
	if *check {
		if pkgFresh && chFresh && !*force {
			return nil
		}
		return exitStatus(exitStale)
	}

	if pkgFresh && !*force {
		var long int
		_ = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(*pkgDB)+".packages WHERE description <> summary").Scan(&long)
		fmt.Fprintf(out, "  %s: already loaded (%d packages, %d with long descriptions)\n", *pkgDB, len(pkgs), long)
	} else {
		var tr Translations
		files, err := TranslationFiles(*lists)
		if err != nil {
			return err
		}
		for _, f := range files {
			rc, err := openCompressed(f)
			if err != nil {
				return err
			}
			err = tr.ParseTranslations(rc)
			rc.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", f, err)
			}
		}
		long := tr.Apply(pkgs)
		t := time.Now()
		if err := createDatabase(ctx, db, *pkgDB); err != nil {
			return err
		}
		err = loadTable(ctx, db, *pkgDB, packagesTable, len(pkgs), func(i int) []any {
			p := pkgs[i]
			return []any{p.Name, p.Section, p.Version, p.Maintainer, p.Summary, p.Description}
		})
		if err != nil {
			return err
		}
		note := fmt.Sprintf("%d with long descriptions from %d Translation-en list(s)", long, len(files))
		if len(files) == 0 {
			note = "no Translation-en lists: short descriptions only"
		}
		fmt.Fprintf(out, "  %s: loaded %d packages (%s) in %.1fs\n", *pkgDB, len(pkgs), note, time.Since(t).Seconds())
	}

	if chFresh && !*force {
		fmt.Fprintf(out, "  %s: already loaded (%d changelog entries, %d documentation files)\n", *chDB, len(entries), len(docFiles))
	} else {
		t := time.Now()
		if err := createDatabase(ctx, db, *chDB); err != nil {
			return err
		}
		err := loadTable(ctx, db, *chDB, changelogTable, len(entries), func(i int) []any {
			e := entries[i]
			return []any{e.ID, e.Package, e.Version, e.Distribution, e.Urgency, e.Author, nullTime(e.Date), e.Body}
		})
		if err != nil {
			return err
		}
		err = loadTable(ctx, db, *chDB, docFilesTable, len(docFiles), func(i int) []any {
			d := docFiles[i]
			return []any{d.Path, d.Package, d.Content}
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %s: loaded %d changelog entries and %d documentation files in %.1fs\n",
			*chDB, len(entries), len(docFiles), time.Since(t).Seconds())
	}
	if err := ensureReader(ctx, db, *readerUser, *readerPassword, []string{*pkgDB, *chDB}); err != nil {
		return err
	}
	fmt.Fprintf(out, "  read-only account %s (SELECT on both); sources read in %.1fs, total %.1fs\n",
		*readerUser, parsed.Seconds(), time.Since(t0).Seconds())
	return nil
}

// dumpavail runs `apt-cache dumpavail` and parses its packages.
func dumpavail(ctx context.Context) ([]Package, error) {
	path, err := exec.LookPath("apt-cache")
	if err != nil {
		return nil, errors.New("apt-cache is not available: the package descriptions come from it")
	}
	cmd := exec.CommandContext(ctx, path, "dumpavail")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("apt-cache dumpavail: %w", err)
	}
	pkgs, perr := ParsePackages(stdout)
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("apt-cache dumpavail: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if perr != nil {
		return nil, perr
	}
	if len(pkgs) == 0 {
		return nil, errors.New("apt-cache dumpavail listed no packages: run apt-get update first")
	}
	return pkgs, nil
}

func runProvision(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("provision", flag.ContinueOnError)
	var o provisionOptions
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:"+getenv("PORT", "3000"), "the gateway's base URL")
	fs.StringVar(&o.GRPCAddr, "grpc", "127.0.0.1:"+getenv("ALTUS_SEARCH_PORT", "50051"), "the search service's gRPC address (written to the env file)")
	fs.StringVar(&o.Email, "email", "demo@altus.local", "the user's email")
	fs.StringVar(&o.Password, "password", os.Getenv("ALTUS_DEMO_PASSWORD"), "the user's password (default $ALTUS_DEMO_PASSWORD)")
	fs.StringVar(&o.UserName, "name", "Altus Demo", "the user's name")
	fs.StringVar(&o.DBHost, "db-host", getenv("DB_HOST", "127.0.0.1"), "the demo databases' host as the suite reaches it")
	port := fs.Int("db-port", 0, "their port (default $DB_PORT or 3306)")
	fs.StringVar(&o.ReaderUser, "reader-user", "altus_demo", "the read-only account the sources are registered with")
	fs.StringVar(&o.ReaderPassword, "reader-password", os.Getenv("ALTUS_DEMO_DB_PASSWORD"), "its password (default $ALTUS_DEMO_DB_PASSWORD)")
	pkgDB := fs.String("packages-db", "altus_demo_packages", "database of the package descriptions")
	chDB := fs.String("changelogs-db", "altus_demo_changelogs", "database of the changelogs")
	fs.IntVar(&o.Keys, "keys", 1, "how many API keys to hold")
	fs.StringVar(&o.KeyName, "key-name", "demo", "the API keys' name")
	perms := fs.String("permissions", "search,analytics", "the API keys' permissions")
	fs.StringVar(&o.Tier, "tier", "free", "the API keys' rate-limit tier (pro and enterprise need -promote)")
	fs.BoolVar(&o.Promote, "promote", false, "give the user the admin role (direct UPDATE of the metadata database $DB_DATABASE)")
	fs.StringVar(&o.Out, "out", ".run/demo.env", "env file to write (read first to reuse the session and keys)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.DBPort = *port
	if o.DBPort == 0 {
		p, err := strconv.Atoi(getenv("DB_PORT", "3306"))
		if err != nil {
			return fmt.Errorf("DB_PORT: %w", err)
		}
		o.DBPort = p
	}
	o.Permissions = strings.Split(*perms, ",")
	o.Sources = []source{
		{Name: "Debian packages", Database: *pkgDB, Env: "PACKAGES"},
		{Name: "Debian changelogs", Database: *chDB, Env: "CHANGELOGS"},
	}
	if o.Password == "" || o.ReaderPassword == "" {
		return errors.New("the user's and the read-only account's passwords are needed: -password/-reader-password or ALTUS_DEMO_PASSWORD/ALTUS_DEMO_DB_PASSWORD")
	}
	if o.Keys < 1 || o.Keys > 100 {
		return fmt.Errorf("-keys must be 1..100; got %d", o.Keys)
	}
	if o.Promote {
		db, err := openServer(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		o.Metadata, o.MetadataDB = db, getenv("DB_DATABASE", "altus4")
	}
	_, err := provision(ctx, o, out)
	return err
}
