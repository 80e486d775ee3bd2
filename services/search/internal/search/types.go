package search

import (
	"context"
	"time"
)

// Modes a request may ask for.
const (
	ModeNatural   = "natural"
	ModeBoolean   = "boolean"
	ModeExpansion = "expansion"
	ModeSemantic  = "semantic"
)

// Notice codes.
const (
	NoticeTermsIgnored        = "TERMS_IGNORED"
	NoticeNoSearchableTerms   = "NO_SEARCHABLE_TERMS"
	NoticeSemanticUnavailable = "SEMANTIC_UNAVAILABLE"
	NoticeNoDatabases         = "NO_DATABASES"
	NoticeQueryRepaired       = "QUERY_REPAIRED"
	// NoticeSemanticWindow says the semantic ranking covered only the
	// over-fetched full-text candidates, not every match.
	NoticeSemanticWindow = "SEMANTIC_WINDOW"
	// NoticeExpansionSkipped says a semantic search's query-expansion
	// candidates of some database were left out: they took too long.
	NoticeExpansionSkipped = "EXPANSION_SKIPPED"
)

// Source statuses.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusTimeout = "timeout"
	StatusSkipped = "skipped"
)

// Suggestion types (the v1 names).
const (
	SuggestSpelling = "spelling"
	SuggestSemantic = "semantic"
	SuggestPopular  = "popular"
)

// Request is a search as the caller asked for it.
type Request struct {
	Query     string
	Databases []string
	Tables    []string
	Columns   []string
	Mode      string
	Limit     int
	Offset    int
	// IncludeAnalytics adds the caller's trends to the response.
	IncludeAnalytics bool
	// MaxValueChars is the longest text value of a result's Data (0:
	// DefaultMaxValueChars); longer ones are cut (Result.TruncatedColumns).
	MaxValueChars int
	// NoCache skips the result cache lookup (the fresh page is still
	// stored): the caller said "Cache-Control: no-cache".
	NoCache bool
	// Render asks for the page pre-rendered (Response.Rendered) by the
	// Codec, for an edge that passes it through instead of converting it.
	Render bool
	// SemanticRatio is the weight of the embedding ranking against the
	// full-text one in semantic mode, 0..1 (nil: DefaultSemanticRatio).
	SemanticRatio *float64
	// EdgeKey is the key the REST edge looks this request up by
	// (edgecache.Key of the request as the edge decoded it). When set, a
	// fresh rendered page is also stored there, as an edge page
	// (Codec.EncodeEdge), for the edge to answer the next ask itself.
	EdgeKey string
}

// EventSummary is what a search's event records of its page; an edge page
// carries it, so that a search the edge answers is recorded alike.
type EventSummary struct {
	// Query is the normalised query.
	Query string
	// Mode is the mode the page was searched in.
	Mode string
	// Databases are the ids of the sources searched, in response order.
	Databases   []string
	ResultCount int
	TotalCount  int
	// ResultOffset is the offset of the page.
	ResultOffset int
}

// CachedHit is a search the REST edge answered from an edge page.
type CachedHit struct {
	// SearchID is the id the edge's response carried.
	SearchID      string
	Summary       EventSummary
	ExecutionTime time.Duration
	CreatedAt     time.Time
}

// Response is one page of fused results.
type Response struct {
	Results           []Result
	Categories        []Category
	Suggestions       []Suggestion
	Trends            []Trend
	QueryOptimization []Optimization
	TotalCount        int
	// TotalEstimated is true when TotalCount is a lower bound.
	TotalEstimated bool
	ExecutionTime  time.Duration
	Page           int
	Limit          int
	Sources        []SourceStatus
	// Mode is the mode actually used.
	Mode    string
	Notices []Notice
	// Enhancements say how each AI capability answered for this page.
	Enhancements []Enhancement
	Cached       bool
	// Message is the page as the result cache stores it, when it came from
	// there or was encoded once for both the cache and the answer
	// (Codec.Message): an adapter's own message type, opaque here. Adapters send it
	// (with Cached, ExecutionTime and Trends brought up to date) instead of
	// converting Results, which a Codec may then leave empty; ResultCount
	// is the number of results it holds.
	Message     any
	ResultCount int
	// Rendered is the page as the Codec renders it for the edge (without
	// the per-request Cached, ExecutionTime and Trends), set when the
	// request asked for it (Request.Render) or the page came from the
	// result cache, which stores it beside Message. Opaque here.
	Rendered []byte
	// SearchID is the id of the search's recorded event (per request, like
	// Cached and ExecutionTime: never part of a cached or rendered page).
	SearchID string
}

// NumResults is the number of results of the page, filled or not.
func (r *Response) NumResults() int {
	if r.Message != nil {
		return r.ResultCount
	}
	return len(r.Results)
}

// Result is one matching row.
type Result struct {
	// ID is "<source id>:<table>:<pk values, path-escaped, comma-separated>".
	ID       string
	Table    string
	Database string
	// RelevanceScore is in 0..1.
	RelevanceScore float64
	MatchedColumns []string
	// Data is the primary key and the searchable columns, in table order.
	Data       []Field
	Snippet    string
	Categories []string
	Highlights []Highlight
	// TruncatedColumns are the columns of Data whose value was cut.
	TruncatedColumns []string
}

// Field is one column of a result: Value is nil (SQL NULL), an int64
// (integer columns) or a string.
type Field struct {
	Name  string
	Value any
}

// Highlight is the highlighted fragments of one column.
type Highlight struct {
	Column    string
	Fragments []string
}

// SourceStatus is how one source answered.
type SourceStatus struct {
	ID        string
	Name      string
	Status    string
	RowCount  int
	Elapsed   time.Duration
	ErrorCode string
	Message   string
}

// Notice tells the caller how the query was understood.
type Notice struct {
	Code    string
	Message string
	Terms   []string
}

// Category is a group of the page's results, with the mean confidence of
// its members.
type Category struct {
	Name       string
	Count      int
	Confidence float64
}

// Enhancement sources.
const (
	EnhancedByProvider = "provider"
	EnhancedByFallback = "fallback"
	EnhancementSkipped = "skipped"
)

// Enhancement capabilities.
const (
	CapabilityCategories        = "categories"
	CapabilitySemantic          = "semantic"
	CapabilityQueryOptimization = "query_optimization"
	CapabilitySuggestions       = "suggestions"
)

// Enhancement says how one AI capability answered for a search.
type Enhancement struct {
	Capability string
	// Source is EnhancedByProvider, EnhancedByFallback or EnhancementSkipped.
	Source  string
	Reason  string
	Elapsed time.Duration
}

// Suggestion is a proposed query.
type Suggestion struct {
	Text  string
	Score float64
	Type  string
}

// Optimization is advice on phrasing or indexing.
type Optimization struct {
	Type          string
	Description   string
	Impact        string
	SQLSuggestion string
}

// Trend is the caller's searching over one period.
type Trend struct {
	Period          string
	TopQueries      []string
	Volume          int
	AvgResponseTime time.Duration
}

// Source is one data source as dbrouter describes it.
type Source struct {
	ID          string
	Name        string
	Database    string
	Version     int
	Fingerprint string
	Server      ServerInfo
	Tables      []Table
	// AIEgress is what of the source's rows may reach the AI provider:
	// EgressFullText ("" reads as it), EgressListed or EgressNone.
	AIEgress string
	// AIColumns are the "table.column" names allowed with EgressListed.
	AIColumns []string
	// ErrorCode and ErrorMessage are set when the source could not be described.
	ErrorCode    string
	ErrorMessage string
}

// ServerInfo holds the full-text facts of a source's server.
type ServerInfo struct {
	Version                string
	Flavor                 string
	InnoDBMinTokenSize     int
	InnoDBMaxTokenSize     int
	MyISAMMinWordLen       int
	MyISAMMaxWordLen       int
	InnoDBStopwords        []string
	InnoDBStopwordsEnabled bool
	MyISAMStopwords        []string
}

// Table is one discovered base table.
type Table struct {
	Name       string
	Columns    []Column
	Indexes    []Index
	PrimaryKey []string
	// Engine is e.g. "InnoDB", "MyISAM" or "Aria" ("" is taken as InnoDB).
	Engine string
	// EstimatedRows is the server's estimate of the table's rows (0 when
	// unknown or empty).
	EstimatedRows int
}

// Column is one column of a table.
type Column struct {
	Name string
	// Type is the SQL data type, lower-case (e.g. "varchar", "int").
	Type         string
	IsSearchable bool
	IsFullText   bool
	IsPrimaryKey bool
	// MaxChars is the most characters a value holds (0: not text, or unknown).
	MaxChars uint32
}

// Index is a FULLTEXT index with its ordered columns.
type Index struct {
	Name    string
	Columns []string
}

// Column returns the column called name.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Plan is one full-text statement on one index, built by dbrouter.
type Plan struct {
	Table   string
	Index   string
	Mode    string
	Against string
	Limit   int
	Offset  int
	Count   bool
	Explain bool
	// KeysOnly returns the primary key and the score of each row only (for
	// ranking; a FetchPlan reads the page's rows afterwards).
	KeysOnly bool
	// Unordered returns the first Limit rows found, not ranked (a sample
	// of the text that matches).
	Unordered bool
}

// Count operators: a CountPlan counts the rows matching any of its plans
// (their union) or all of them (their intersection).
const (
	CountAny = "any"
	CountAll = "all"
)

// CountPlan counts the distinct rows of a table matching any (CountAny) or
// all (CountAll) of its plans.
type CountPlan struct {
	Table   string
	Matches []Plan
	Op      string
}

// FetchPlan reads rows of a table by primary key: the primary key and
// every searchable column of each.
type FetchPlan struct {
	Table string
	// Keys are primary key values, in key column order, exactly as a plan
	// returned them.
	Keys [][]string
}

// MaxFetchKeys is the most keys one FetchPlan takes.
const MaxFetchKeys = 1000

// ExecRequest runs plans on one source.
type ExecRequest struct {
	SourceID         string
	Plans            []Plan
	Counts           []CountPlan
	Fetches          []FetchPlan
	StatementTimeout time.Duration
	// Page, when set, asks dbrouter to read the rows of a page of the
	// plans' fused ranking once they have answered, in the same call
	// (every plan KeysOnly): ExecResponse.Page.
	Page *PagePlan
}

// PagePlan is a page of a call's fused ranking: [Offset, Offset+Limit)
// under reciprocal rank fusion with k RRFK, ties by table then primary key
// (as Fuse orders the rows of one source).
type PagePlan struct {
	Offset, Limit int
}

// Row is one result row; Values follow PlanResult.Columns.
type Row struct {
	Values []string
	Nulls  []bool
	Score  float64
}

// PlanResult is the outcome of one plan or count.
type PlanResult struct {
	Columns []string
	Rows    []Row
	// Total is the number of matching rows, -1 when not counted.
	Total          int
	TotalEstimated bool
	ErrorCode      string
	ErrorMessage   string
	Elapsed        time.Duration
	Statement      string
	Explain        []map[string]string
	// Table is the table of the rows, on ExecResponse.Page results.
	Table string
}

// ExecResponse carries one result per plan, per count and per fetch.
type ExecResponse struct {
	Plans   []PlanResult
	Counts  []PlanResult
	Fetches []PlanResult
	// Page holds the rows of the page asked (ExecRequest.Page), one result
	// per table with rows on it.
	Page   []PlanResult
	Queued time.Duration
}

// Sources reaches the caller's data sources through dbrouter. The context
// carries the caller; dbrouter only ever shows them their own sources.
type Sources interface {
	// Describe returns the sources named by ids (all of the caller's when
	// empty). An id that is not the caller's fails with an error wrapping
	// ErrSourceNotFound.
	Describe(ctx context.Context, ids []string) ([]Source, error)
	// Execute runs plans on one source.
	Execute(ctx context.Context, req ExecRequest) (ExecResponse, error)
}

// ResultCache stores encoded responses under version counters.
type ResultCache interface {
	// Get reads the versions of versionKeys and the value under key and
	// them, with how long the value found has left to live (or less; 0
	// when unknown).
	Get(ctx context.Context, versionKeys []string, key string) (value []byte, versions []int64, found bool, ttl time.Duration, err error)
	// Versions reads the versions of versionKeys only.
	Versions(ctx context.Context, versionKeys []string) ([]int64, error)
	// Set stores each entry's value under its key and versions for ttl,
	// in one call.
	Set(ctx context.Context, versions []int64, ttl time.Duration, entries ...CacheEntry) error
}

// CacheEntry is a key and the value to store under it.
type CacheEntry struct {
	Key   string
	Value []byte
}

// Codec encodes responses for the cache and renders them for the edge.
type Codec interface {
	// Encode returns the cache value of a page: its encoding and its
	// rendering (Response.Rendered when set, else rendered now).
	Encode(*Response) ([]byte, error)
	// Decode reads a cache value back, its rendering in Rendered.
	Decode([]byte) (*Response, error)
	// Render returns the page as the edge shows it, without the
	// per-request Cached, ExecutionTime and Trends.
	Render(*Response) ([]byte, error)
	// EncodeEdge returns the cache value of an edge page: a rendering
	// (Render) and the summary of its search.
	EncodeEdge(rendered []byte, summary EventSummary) ([]byte, error)
	// Message returns the page encoded as Encode stores it (without its
	// Trends and SearchID), for Response.Message: the answer to a typed
	// caller and the cache value then share one encoding. nil when the
	// codec has no such form.
	Message(*Response) (any, error)
}
