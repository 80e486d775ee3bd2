// Package datasource is the logic of the dbrouter service: the registry of
// each user's own MySQL/MariaDB databases (data sources), their encrypted
// credentials, their connection pools and their discovered schema.
//
// Every operation acts for one user and reads the source with its id, the
// user's id and "not deleted" together: another user's source, an unknown
// id and a deleted source are the same ErrNotFound. Settings are tested live
// before they are saved. Pools and cached schemas are keyed by the source's
// version, which changes on every update and on deletion, so a replica
// never serves a pool or schema of settings that are no longer current
// (see Sweep for replicas that see no request for the source).
//
// It holds no gRPC or generated types; internal/grpcapi adapts it.
package datasource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/altus4/altus/services/dbrouter/internal/credential"
	"github.com/altus4/altus/services/dbrouter/internal/pool"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/store"
)

// Connection statuses, as of the last test.
const (
	StatusConnected = "connected"
	StatusFailed    = "failed"
	StatusUnknown   = "unknown"
)

// DefaultStatusTimeout bounds the ping of each source in Statuses.
const DefaultStatusTimeout = 2 * time.Second

// Error is a domain error: Error() names it for logs and errors.Is, and
// PublicMessage() tells the caller what is wrong and what to do.
type Error struct {
	name   string
	public string
}

// Error names the error for logs.
func (e *Error) Error() string { return "datasource: " + e.name }

// PublicMessage is the message for people.
func (e *Error) PublicMessage() string { return e.public }

// Domain errors. The adapter maps each to a gRPC code and a v1 reason.
var (
	ErrNotFound = &Error{"not found",
		"No database connection with this id belongs to you; list yours with GET /api/v1/databases."}
	// ErrConnectionFailed is the sentinel of every failure to reach or log
	// in to a source; the error returned carries a message naming the
	// source's address and what went wrong.
	ErrConnectionFailed = &Error{"connection failed",
		"Could not connect to the database."}
	ErrConflict = &Error{"conflict",
		"This database connection was changed by another request at the same time; read it again and retry."}
	ErrBusy = &Error{"busy",
		"All connections to this database are busy; try again shortly."}
)

// connectionFailed is an ErrConnectionFailed with its own public message.
type connectionFailed struct {
	public string
	err    error
}

// Error describes the failure for logs, with the driver's own error.
func (e *connectionFailed) Error() string { return "datasource: connection failed: " + e.err.Error() }

// Unwrap returns the underlying failure.
func (e *connectionFailed) Unwrap() error { return e.err }

// Is makes errors.Is(err, ErrConnectionFailed) true.
func (e *connectionFailed) Is(target error) bool { return target == ErrConnectionFailed }

// PublicMessage names the source and what went wrong, for people.
func (e *connectionFailed) PublicMessage() string { return e.public }

func connectFailure(err error) error {
	var ce *pool.ConnectError
	if errors.As(err, &ce) {
		return &connectionFailed{public: ce.PublicMessage(), err: err}
	}
	return &connectionFailed{public: ErrConnectionFailed.public, err: err}
}

// errUnreadablePassword means the stored password does not decrypt with the
// configured ENCRYPTION_KEY (the key changed, or the row was altered).
func errUnreadablePassword(src store.Source, err error) error {
	return &connectionFailed{
		public: fmt.Sprintf("The saved password of %s:%d cannot be decrypted with this server's encryption key; update the connection with its password.", src.Host, src.Port),
		err:    err,
	}
}

// Connection is a data source as callers see it: never with its password.
type Connection struct {
	ID       string
	Name     string
	Host     string
	Port     int
	Database string
	Username string
	SSL      bool
	IsActive bool
	// Status is StatusConnected, StatusFailed or StatusUnknown, as of LastTested.
	Status     string
	LastTested time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// Version changes whenever the connection settings are updated.
	Version int
	// AIEgress is what of the source's rows may reach the AI provider
	// (EgressFullText, EgressListed or EgressNone).
	AIEgress string
	// AIColumns are the "table.column" names allowed with EgressListed.
	AIColumns []string
	// Replicas are the source's read replicas.
	Replicas []Replica
	// ReplicaStatus is this instance's last check of each replica, in the
	// order of Replicas (filled by Get, List, Create and Update).
	ReplicaStatus []ReplicaHealth
}

func connectionOf(s store.Source) Connection {
	return Connection{
		ID: s.ID, Name: s.Name, Host: s.Host, Port: s.Port, Database: s.Database, Username: s.Username,
		SSL: s.SSL, IsActive: s.IsActive, Status: s.Status, LastTested: s.LastTested,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Version: s.Version,
		AIEgress: normalizeEgress(s.AIEgress), AIColumns: s.AIColumns, Replicas: domainReplicas(s.Replicas),
	}
}

// CreateInput registers a source. Port nil means DefaultPort.
type CreateInput struct {
	Name     string
	Host     string
	Port     *int
	Database string
	Username string
	Password string
	SSL      bool
	// AIEgress is the AI egress policy ("" is EgressFullText).
	AIEgress string
	// AIColumns are the "table.column" names allowed with EgressListed;
	// each must exist in the database.
	AIColumns []string
	// Replicas are read replicas (at most MaxReplicas), each tested with
	// the source's database and credentials before it is saved.
	Replicas []Replica
}

func (in CreateInput) port() int {
	if in.Port == nil {
		return DefaultPort
	}
	return *in.Port
}

// UpdateInput changes some fields of a source; nil fields stay as they are
// (in particular the password is kept unless one is given).
type UpdateInput struct {
	Name     *string
	Host     *string
	Port     *int
	Database *string
	Username *string
	Password *string
	SSL      *bool
	// AIEgress, when set, replaces the AI egress policy and its column
	// list (AIColumns, which is only accepted with it).
	AIEgress  *string
	AIColumns []string
	// Replicas, when not empty, replace the read replicas; ClearReplicas
	// removes them (not both).
	Replicas      []Replica
	ClearReplicas bool
}

func (in UpdateInput) empty() bool {
	return in.Name == nil && in.Host == nil && in.Port == nil && in.Database == nil &&
		in.Username == nil && in.Password == nil && in.SSL == nil && in.AIEgress == nil &&
		len(in.Replicas) == 0 && !in.ClearReplicas
}

// TestResult is the outcome of testing a saved source.
type TestResult struct {
	Connected bool
	// Message says what happened, for people.
	Message string
	// Latency is the round trip of connecting and asking the version.
	Latency time.Duration
	// ServerVersion is what the server reported, when connected.
	ServerVersion string
}

// Prober tests settings live with a fresh connection (pool.Probe).
type Prober func(ctx context.Context, s pool.Settings) (pool.ProbeResult, error)

// Options configure New.
type Options struct {
	Store   *store.Store
	Cipher  *credential.Cipher
	Pools   *pool.Manager
	Schemas *schema.Cache
	// Probe tests settings before they are saved; nil uses pool.Probe with
	// the options of Pools.
	Probe Prober
	// StatusTimeout bounds each ping of Statuses (DefaultStatusTimeout when zero).
	StatusTimeout time.Duration
	// DescribeTimeout bounds the description of each source in Describe
	// (DefaultDescribeTimeout when zero).
	DescribeTimeout time.Duration
	// Bumper invalidates cached search results after a source changes; nil
	// disables it.
	Bumper VersionBumper
	// BumpTimeout bounds one bump (DefaultBumpTimeout when zero).
	BumpTimeout time.Duration
	// LookupTTL is how long a source read for a search is reused before it
	// is read again (0: read for every call). A search saves the metadata
	// read; a source deleted or changed through another replica is still
	// searched with its old settings for at most this long.
	LookupTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log receives failures that do not fail a call (e.g. a status write).
	Log *slog.Logger
}

// Service implements the data source rules. It is safe for concurrent use.
type Service struct {
	store           *store.Store
	cipher          *credential.Cipher
	pools           *pool.Manager
	schemas         *schema.Cache
	probe           Prober
	statusTimeout   time.Duration
	describeTimeout time.Duration
	bumper          VersionBumper
	bumpTimeout     time.Duration
	bumps           *prometheus.CounterVec
	now             func() time.Time
	log             *slog.Logger
	// lookups remembers, for LookupTTL, the sources read for searches.
	lookupTTL time.Duration
	lookups   sync.Map // lookupKey -> lookup
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Cipher == nil || o.Pools == nil || o.Schemas == nil {
		return nil, errors.New("datasource: store, cipher, pools and schemas are required")
	}
	s := &Service{
		store: o.Store, cipher: o.Cipher, pools: o.Pools, schemas: o.Schemas,
		probe: o.Probe, statusTimeout: o.StatusTimeout, describeTimeout: o.DescribeTimeout,
		bumper: o.Bumper, bumpTimeout: o.BumpTimeout, bumps: newBumpCounter(), now: o.Now, log: o.Log,
		lookupTTL: o.LookupTTL,
	}
	if s.probe == nil {
		opts := o.Pools.Options()
		s.probe = func(ctx context.Context, st pool.Settings) (pool.ProbeResult, error) {
			return pool.Probe(ctx, st, opts)
		}
	}
	if s.statusTimeout <= 0 {
		s.statusTimeout = DefaultStatusTimeout
	}
	if s.describeTimeout <= 0 {
		s.describeTimeout = DefaultDescribeTimeout
	}
	if s.bumpTimeout <= 0 {
		s.bumpTimeout = DefaultBumpTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// clock returns now in UTC at the metadata database's precision, so that
// what a call returns equals what a later read returns.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// get reads the user's live source id; an id that is not a UUID cannot exist.
func (s *Service) get(ctx context.Context, userID, id string) (store.Source, error) {
	if _, err := uuid.Parse(id); err != nil || userID == "" {
		return store.Source{}, ErrNotFound
	}
	src, err := s.store.Get(ctx, userID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Source{}, ErrNotFound
	}
	if err != nil {
		return store.Source{}, fmt.Errorf("datasource: %w", err)
	}
	return src, nil
}

type lookupKey struct{ userID, id string }

type lookup struct {
	src store.Source
	exp time.Time
}

// getForSearch is get, remembered for LookupTTL.
func (s *Service) getForSearch(ctx context.Context, userID, id string) (store.Source, error) {
	if s.lookupTTL <= 0 {
		return s.get(ctx, userID, id)
	}
	k := lookupKey{userID, id}
	now := s.now()
	if v, ok := s.lookups.Load(k); ok && now.Before(v.(lookup).exp) {
		return v.(lookup).src, nil
	}
	src, err := s.get(ctx, userID, id)
	if err != nil {
		s.lookups.Delete(k)
		return src, err
	}
	s.lookups.Store(k, lookup{src: src, exp: now.Add(s.lookupTTL)})
	return src, nil
}

// forget drops a source from the searches' lookups (it changed here).
func (s *Service) forget(userID, id string) { s.lookups.Delete(lookupKey{userID, id}) }

func (s *Service) settings(src store.Source) (pool.Settings, error) {
	password, err := s.cipher.Decrypt(src.Password)
	if err != nil {
		return pool.Settings{}, errUnreadablePassword(src, err)
	}
	return pool.Settings{Host: src.Host, Port: src.Port, Database: src.Database, Username: src.Username, Password: password, TLS: src.SSL}, nil
}

// List returns the user's sources, newest first.
func (s *Service) List(ctx context.Context, userID string) ([]Connection, error) {
	rows, err := s.store.List(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("datasource: %w", err)
	}
	out := make([]Connection, len(rows))
	for i, r := range rows {
		out[i] = s.withHealth(connectionOf(r))
	}
	return out, nil
}

// Get returns one of the user's sources.
func (s *Service) Get(ctx context.Context, userID, id string) (Connection, error) {
	src, err := s.get(ctx, userID, id)
	if err != nil {
		return Connection{}, err
	}
	return s.withHealth(connectionOf(src)), nil
}

// Create validates in, tests it live and saves it with its password encrypted.
func (s *Service) Create(ctx context.Context, userID string, in CreateInput) (Connection, error) {
	if err := in.validate(); err != nil {
		return Connection{}, err
	}
	settings := pool.Settings{Host: in.Host, Port: in.port(), Database: in.Database, Username: in.Username, Password: in.Password, TLS: in.SSL}
	if _, err := s.probe(ctx, settings); err != nil {
		return Connection{}, connectFailure(err)
	}
	if err := s.probeReplicas(ctx, settings, storeReplicas(in.Replicas)); err != nil {
		return Connection{}, err
	}
	if err := s.checkColumns(ctx, settings, in.AIColumns); err != nil {
		return Connection{}, err
	}
	encrypted, err := s.cipher.Encrypt(in.Password)
	if err != nil {
		return Connection{}, fmt.Errorf("datasource: %w", err)
	}
	now := s.clock()
	src := store.Source{
		ID: uuid.NewString(), UserID: userID, Name: in.Name, Host: in.Host, Port: in.port(),
		Database: in.Database, Username: in.Username, Password: encrypted, SSL: in.SSL, IsActive: true,
		Status: StatusConnected, LastTested: now, CreatedAt: now, UpdatedAt: now, Version: 1,
		AIEgress: in.AIEgress, AIColumns: in.AIColumns, Replicas: storeReplicas(in.Replicas),
	}
	if err := s.store.Insert(ctx, src); err != nil {
		return Connection{}, fmt.Errorf("datasource: %w", err)
	}
	s.bump(ctx, userID, src.ID, "created")
	return s.withHealth(connectionOf(src)), nil
}

// Update changes the given fields, tests the merged settings live (nothing
// is saved when the test fails), saves them under a new version, replaces
// the source's pool and forgets its cached schema.
func (s *Service) Update(ctx context.Context, userID, id string, in UpdateInput) (Connection, error) {
	if err := in.validate(); err != nil {
		return Connection{}, err
	}
	src, err := s.get(ctx, userID, id)
	if err != nil {
		return Connection{}, err
	}
	if in.empty() {
		return connectionOf(src), nil
	}
	merged := src
	if in.Name != nil {
		merged.Name = *in.Name
	}
	if in.Host != nil {
		merged.Host = *in.Host
	}
	if in.Port != nil {
		merged.Port = *in.Port
	}
	if in.Database != nil {
		merged.Database = *in.Database
	}
	if in.Username != nil {
		merged.Username = *in.Username
	}
	if in.SSL != nil {
		merged.SSL = *in.SSL
	}
	if in.AIEgress != nil {
		merged.AIEgress, merged.AIColumns = *in.AIEgress, in.AIColumns
	}
	switch {
	case in.ClearReplicas:
		merged.Replicas = nil
	case len(in.Replicas) > 0:
		merged.Replicas = storeReplicas(in.Replicas)
	}
	var password string
	if in.Password != nil {
		password = *in.Password
		if merged.Password, err = s.cipher.Encrypt(password); err != nil {
			return Connection{}, fmt.Errorf("datasource: %w", err)
		}
	} else if password, err = s.cipher.Decrypt(src.Password); err != nil {
		return Connection{}, errUnreadablePassword(src, err)
	}
	settings := pool.Settings{Host: merged.Host, Port: merged.Port, Database: merged.Database, Username: merged.Username, Password: password, TLS: merged.SSL}
	if _, err := s.probe(ctx, settings); err != nil {
		return Connection{}, connectFailure(err)
	}
	// Replicas are tested when they or the credentials they share change.
	if len(in.Replicas) > 0 || in.Database != nil || in.Username != nil || in.Password != nil || in.SSL != nil {
		if err := s.probeReplicas(ctx, settings, merged.Replicas); err != nil {
			return Connection{}, err
		}
	}
	// The listed columns are checked against the database the merged
	// settings reach, whether the list or the connection changed.
	if normalizeEgress(merged.AIEgress) == EgressListed && (in.AIEgress != nil || in.Host != nil || in.Port != nil || in.Database != nil) {
		if err := s.checkColumns(ctx, settings, merged.AIColumns); err != nil {
			return Connection{}, err
		}
	}
	now := s.clock()
	merged.Status, merged.LastTested, merged.UpdatedAt = StatusConnected, now, now
	version, err := s.store.Update(ctx, merged)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Connection{}, ErrNotFound
	case errors.Is(err, store.ErrConflict):
		return Connection{}, ErrConflict
	case err != nil:
		return Connection{}, fmt.Errorf("datasource: %w", err)
	}
	merged.Version = version
	// The old pool closes now (connections in use finish first); the new
	// one opens its connections on demand.
	if _, err := s.pools.Get(pool.Key{ID: id, Version: version}, settings); err != nil {
		s.log.WarnContext(ctx, "could not open the pool of an updated data source", "source", id, "error", err)
	} else if _, err := s.replicasOf(merged, settings); err != nil {
		s.log.WarnContext(ctx, "could not open the read replicas of an updated data source", "source", id, "error", err)
	}
	s.schemas.Invalidate(id)
	s.forget(userID, id)
	s.bump(ctx, userID, id, "updated")
	return s.withHealth(connectionOf(merged)), nil
}

// Delete soft-deletes the source, closes its pool at once (connections in
// use are closed as they are released) and forgets its schema.
func (s *Service) Delete(ctx context.Context, userID, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return ErrNotFound
	}
	err := s.store.SoftDelete(ctx, userID, id, s.clock())
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("datasource: %w", err)
	}
	s.pools.Drop(id)
	s.schemas.Invalidate(id)
	s.forget(userID, id)
	s.bump(ctx, userID, id, "deleted")
	return nil
}

// Test connects to a saved source with a fresh connection, records the
// outcome as its status and reports it. A failure to connect is a result,
// not an error.
func (s *Service) Test(ctx context.Context, userID, id string) (TestResult, error) {
	src, err := s.get(ctx, userID, id)
	if err != nil {
		return TestResult{}, err
	}
	var res TestResult
	settings, err := s.settings(src)
	if err == nil {
		var pr pool.ProbeResult
		pr, err = s.probe(ctx, settings)
		res = TestResult{Connected: err == nil, Latency: pr.Latency, ServerVersion: pr.ServerVersion}
	}
	status := StatusConnected
	res.Message = "Connection successful."
	if err != nil {
		status = StatusFailed
		res.Message = publicMessage(connectFailureOrSelf(err))
	}
	if err := s.store.SetStatus(ctx, userID, id, status, s.clock()); err != nil {
		s.log.WarnContext(ctx, "could not record a data source's status", "source", id, "error", err)
	}
	return res, nil
}

func connectFailureOrSelf(err error) error {
	if errors.Is(err, ErrConnectionFailed) {
		return err
	}
	return connectFailure(err)
}

func publicMessage(err error) string {
	var pub interface{ PublicMessage() string }
	if errors.As(err, &pub) {
		return pub.PublicMessage()
	}
	return ErrConnectionFailed.public
}

// Statuses pings each of the user's sources through its pool, concurrently
// and each within StatusTimeout, records the outcomes and returns them by id.
func (s *Service) Statuses(ctx context.Context, userID string) (map[string]bool, error) {
	rows, err := s.store.List(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("datasource: %w", err)
	}
	type result struct {
		id string
		ok bool
	}
	results := make(chan result, len(rows))
	limit := make(chan struct{}, 16)
	for _, src := range rows {
		go func() {
			limit <- struct{}{}
			defer func() { <-limit }()
			pctx, cancel := context.WithTimeout(ctx, s.statusTimeout)
			err := s.ping(pctx, src)
			cancel()
			status := StatusConnected
			if err != nil {
				status = StatusFailed
			}
			if werr := s.store.SetStatus(ctx, userID, src.ID, status, s.clock()); werr != nil {
				s.log.WarnContext(ctx, "could not record a data source's status", "source", src.ID, "error", werr)
			}
			results <- result{id: src.ID, ok: err == nil}
		}()
	}
	out := make(map[string]bool, len(rows))
	for range rows {
		r := <-results
		out[r.id] = r.ok
	}
	return out, nil
}

func (s *Service) ping(ctx context.Context, src store.Source) error {
	p, err := s.pool(src)
	if err != nil {
		return err
	}
	return p.Ping(ctx)
}

// pool returns the pool of src's current version.
func (s *Service) pool(src store.Source) (*pool.Pool, error) {
	key := pool.Key{ID: src.ID, Version: src.Version}
	if p, ok := s.pools.Lookup(src.ID); ok && p.Key().Version >= key.Version {
		return p, nil
	}
	settings, err := s.settings(src)
	if err != nil {
		return nil, err
	}
	p, err := s.pools.Get(key, settings)
	if err != nil {
		return nil, fmt.Errorf("datasource: %w", err)
	}
	return p, nil
}

// Source is a user's source and its pool, for running statements on it.
type Source struct {
	Connection
	// Pool is the primary's pool: schema discovery and the connection test
	// use it, and reads when no replica is healthy.
	Pool *pool.Pool
	// Replicas are the read replicas searches prefer; nil when none.
	Replicas *pool.ReplicaSet
}

// open returns src with its primary pool and read replicas.
func (s *Service) open(src store.Source) (Source, error) {
	p, err := s.pool(src)
	if err != nil {
		return Source{}, err
	}
	out := Source{Connection: connectionOf(src), Pool: p}
	if len(src.Replicas) > 0 {
		settings, err := s.settings(src)
		if err != nil {
			return Source{}, err
		}
		if out.Replicas, err = s.replicasOf(src, settings); err != nil {
			return Source{}, fmt.Errorf("datasource: %w", err)
		}
	}
	return out, nil
}

// Open returns the user's source with its pool, for running statements.
// Acquire connections from the pool per statement and release them at once.
func (s *Service) Open(ctx context.Context, userID, id string) (Source, error) {
	src, err := s.get(ctx, userID, id)
	if err != nil {
		return Source{}, err
	}
	return s.open(src)
}

// Acquire returns a connection to the user's source, with errors in domain
// terms (ErrNotFound, ErrConnectionFailed, ErrBusy). Release it when done.
func (s *Service) Acquire(ctx context.Context, userID, id string) (*pool.Conn, error) {
	src, err := s.Open(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	c, err := src.Pool.Acquire(ctx)
	if err != nil {
		return nil, s.poolError(err)
	}
	return c, nil
}

func (s *Service) poolError(err error) error { return PoolError(err) }

// PoolError turns a pool failure into a domain error: ErrConnectionFailed
// (with the source's address and what went wrong) or ErrBusy.
func PoolError(err error) error {
	var ce *pool.ConnectError
	switch {
	case errors.As(err, &ce):
		return connectFailure(err)
	case errors.Is(err, pool.ErrAcquireTimeout), errors.Is(err, pool.ErrClosed):
		// A closed pool was replaced or deleted a moment ago; the caller
		// retries and gets the new pool, or not found.
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return fmt.Errorf("datasource: %w", err)
}
