package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// apiError is a v1 error envelope answered by the gateway.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// client calls the REST API of a running suite.
type client struct {
	base string
	http *http.Client
}

// call sends body (JSON) with the bearer credential and decodes the
// envelope's data into out.
func (c *client) call(ctx context.Context, method, path, bearer string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	var env struct {
		Success bool            `json:"success"`
		Data    json.RawMessage `json:"data"`
		Error   struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: HTTP %d, not a v1 envelope: %.200s", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode >= 300 || !env.Success {
		return &apiError{Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message}
	}
	if out != nil && len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return fmt.Errorf("%s %s: decode data: %w", method, path, err)
		}
	}
	return nil
}

// source is a demo database to register.
type source struct {
	// Name is the connection's name in Altus; Database the schema; Env the
	// upper-case word of its variables in the env file (PACKAGES).
	Name, Database, Env string
}

// provisionOptions say who to provision and where to write the result.
type provisionOptions struct {
	URL, GRPCAddr             string
	Email, Password, UserName string
	// DBHost/DBPort are the source address as the suite reaches it.
	DBHost                     string
	DBPort                     int
	ReaderUser, ReaderPassword string
	Sources                    []source
	// Keys is how many API keys to hold, named KeyName, with these
	// permissions and tier.
	Keys        int
	KeyName     string
	Permissions []string
	Tier        string
	// Promote gives the user the admin role (needed for the pro and
	// enterprise tiers) with a direct UPDATE of the account service's users
	// table in MetadataDB through Metadata.
	Promote    bool
	Metadata   *sql.DB
	MetadataDB string
	// Out is the env file written (and read first, to reuse what still works).
	Out string
}

// connection is the part of a v1 Connection that provisioning reads.
type connection struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	Username string `json:"username"`
	IsActive bool   `json:"isActive"`
}

// apiKey is the part of a v1 ApiKey that provisioning reads.
type apiKey struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	KeyPrefix   string   `json:"keyPrefix"`
	Permissions []string `json:"permissions"`
	Tier        string   `json:"rateLimitTier"`
	IsActive    bool     `json:"isActive"`
}

// provision makes sure the user exists (registering or logging in), owns
// the demo sources and holds working API keys, then writes the env file.
func provision(ctx context.Context, o provisionOptions, log io.Writer) (map[string]string, error) {
	c := &client{base: strings.TrimRight(o.URL, "/"), http: &http.Client{Timeout: 60 * time.Second}}
	prev := readEnvFile(o.Out)
	token, err := session(ctx, c, o, prev["ALTUS_DEMO_TOKEN"])
	if err != nil {
		return nil, err
	}
	if o.Promote {
		if err := promote(ctx, o); err != nil {
			return nil, err
		}
	}
	env := map[string]string{
		"ALTUS_DEMO_URL":       c.base,
		"ALTUS_DEMO_GRPC_ADDR": o.GRPCAddr,
		"ALTUS_DEMO_EMAIL":     o.Email,
		"ALTUS_DEMO_TOKEN":     token,
	}

	var conns []connection
	if err := c.call(ctx, http.MethodGet, "/api/v1/databases", token, nil, &conns); err != nil {
		return nil, fmt.Errorf("demo: list databases: %w", err)
	}
	for _, s := range o.Sources {
		id, err := ensureSource(ctx, c, token, o, s, conns, log)
		if err != nil {
			return nil, err
		}
		env["ALTUS_DEMO_"+s.Env+"_ID"] = id
		env["ALTUS_DEMO_"+s.Env+"_DSN"] = readerDSN(o, s.Database)
	}

	keys, err := ensureKeys(ctx, c, token, o, strings.Split(prev["ALTUS_DEMO_API_KEY"], ","), log)
	if err != nil {
		return nil, err
	}
	env["ALTUS_DEMO_API_KEY"] = strings.Join(keys, ",")
	if err := writeEnvFile(o.Out, env); err != nil {
		return nil, err
	}
	return env, nil
}

// session returns a working session token: the previous one when it still
// works, else from registering the user, else from logging in.
func session(ctx context.Context, c *client, o provisionOptions, prev string) (string, error) {
	if prev != "" && c.call(ctx, http.MethodGet, "/api/v1/auth/profile", prev, nil, nil) == nil {
		return prev, nil
	}
	var out struct {
		Token string `json:"token"`
	}
	err := c.call(ctx, http.MethodPost, "/api/v1/auth/register", "",
		map[string]string{"email": o.Email, "password": o.Password, "name": o.UserName}, &out)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		err = c.call(ctx, http.MethodPost, "/api/v1/auth/login", "",
			map[string]string{"email": o.Email, "password": o.Password}, &out)
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			return "", fmt.Errorf("demo: %s %w (delete that user, or put its password in the secrets file): %w", o.Email, errOtherPassword, err)
		}
	}
	if err != nil {
		return "", fmt.Errorf("demo: sign in as %s: %w", o.Email, err)
	}
	return out.Token, nil
}

// errOtherPassword means the demo user exists with another password than
// the one in the secrets file (e.g. a fresh checkout against an old database).
var errOtherPassword = errors.New("exists with another password than the one in .run/secrets.env")

// promote gives the user the admin role.
func promote(ctx context.Context, o provisionOptions) error {
	if o.Metadata == nil || !validName(o.MetadataDB) {
		return fmt.Errorf("demo: promoting %s needs the metadata database (DB_DATABASE=%q)", o.Email, o.MetadataDB)
	}
	_, err := o.Metadata.ExecContext(ctx,
		"UPDATE "+quoteIdent(o.MetadataDB)+".users SET role = 'admin', updated_at = UTC_TIMESTAMP(3) WHERE email = ?", o.Email)
	if err != nil {
		return fmt.Errorf("demo: give %s the admin role: %w", o.Email, err)
	}
	return nil
}

// ensureSource returns the id of the user's connection to s, registering it
// when missing and updating its password when the stored one stopped working.
func ensureSource(ctx context.Context, c *client, token string, o provisionOptions, s source, conns []connection, log io.Writer) (string, error) {
	for _, cn := range conns {
		if cn.Database != s.Database || cn.Username != o.ReaderUser || cn.Host != o.DBHost || cn.Port != o.DBPort {
			continue
		}
		var test struct {
			Connected bool `json:"connected"`
		}
		err := c.call(ctx, http.MethodPost, "/api/v1/databases/"+cn.ID+"/test", token, map[string]any{}, &test)
		if err == nil && test.Connected {
			return cn.ID, nil
		}
		fmt.Fprintf(log, "  %s (%s) does not connect any more: updating its password\n", cn.Name, cn.ID)
		if err := c.call(ctx, http.MethodPut, "/api/v1/databases/"+cn.ID, token,
			map[string]any{"password": o.ReaderPassword}, nil); err != nil {
			return "", fmt.Errorf("demo: update %s: %w", cn.Name, err)
		}
		return cn.ID, nil
	}
	var cn connection
	err := c.call(ctx, http.MethodPost, "/api/v1/databases", token, map[string]any{
		"name": s.Name, "host": o.DBHost, "port": o.DBPort, "database": s.Database,
		"username": o.ReaderUser, "password": o.ReaderPassword,
	}, &cn)
	if err != nil {
		return "", fmt.Errorf("demo: register %s: %w", s.Database, err)
	}
	fmt.Fprintf(log, "  registered %s as %q (%s)\n", s.Database, s.Name, cn.ID)
	return cn.ID, nil
}

// ensureKeys returns o.Keys working API keys: the previous ones that are
// still active with the wanted tier and permissions, topped up with new
// ones. Other active keys of the same name are revoked, so that repeated
// runs do not pile keys up.
func ensureKeys(ctx context.Context, c *client, token string, o provisionOptions, prev []string, log io.Writer) ([]string, error) {
	var list struct {
		APIKeys []apiKey `json:"apiKeys"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/v1/keys", token, nil, &list); err != nil {
		return nil, fmt.Errorf("demo: list API keys: %w", err)
	}
	byPrefix := map[string]apiKey{}
	for _, k := range list.APIKeys {
		byPrefix[k.KeyPrefix] = k
	}
	var keep []string
	kept := map[string]bool{}
	for _, secret := range prev {
		secret = strings.TrimSpace(secret)
		if len(secret) < 30 || len(keep) >= o.Keys {
			continue
		}
		k, ok := byPrefix[secret[:30]]
		if !ok || !k.IsActive || k.Name != o.KeyName || k.Tier != o.Tier || !hasAll(k.Permissions, o.Permissions) {
			continue
		}
		keep = append(keep, secret)
		kept[k.ID] = true
	}
	for _, k := range list.APIKeys {
		if k.IsActive && k.Name == o.KeyName && !kept[k.ID] {
			if err := c.call(ctx, http.MethodDelete, "/api/v1/keys/"+k.ID, token, nil, nil); err != nil {
				return nil, fmt.Errorf("demo: revoke the unused key %s: %w", k.KeyPrefix, err)
			}
		}
	}
	created := 0
	for len(keep) < o.Keys {
		var out struct {
			SecretKey string `json:"secretKey"`
		}
		err := c.call(ctx, http.MethodPost, "/api/v1/keys", token, map[string]any{
			"name": o.KeyName, "environment": "test", "permissions": o.Permissions, "rateLimitTier": o.Tier,
		}, &out)
		if err != nil {
			return nil, fmt.Errorf("demo: create an API key: %w", err)
		}
		keep = append(keep, out.SecretKey)
		created++
	}
	if created > 0 {
		fmt.Fprintf(log, "  created %d API key(s) %q (%s tier, %s)\n", created, o.KeyName, o.Tier, strings.Join(o.Permissions, "+"))
	}
	return keep, nil
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) && !slices.Contains(have, "admin") {
			return false
		}
	}
	return true
}

// readerDSN is the go-sql-driver DSN of a demo database through the
// read-only account (what the load tool's sql target uses).
func readerDSN(o provisionOptions, database string) string {
	return fmt.Sprintf("%s:%s@tcp(%s)/%s", o.ReaderUser, o.ReaderPassword, joinHostPort(o.DBHost, o.DBPort), database)
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// readEnvFile reads KEY=VALUE lines (values optionally single-quoted);
// a missing file is empty.
func readEnvFile(path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, `'`)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out
}

// writeEnvFile writes env as sorted KEY='value' lines that a shell can
// source, readable by the owner only, replacing the file atomically.
func writeEnvFile(path string, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Made by altus-demo provision (deploy/local/demo.sh); rewritten on every make run.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s='%s'\n", k, strings.ReplaceAll(env[k], "'", `'\''`))
	}
	tmp := path + ".tmp"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("demo: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("demo: write %s: %w", path, err)
	}
	return nil
}
