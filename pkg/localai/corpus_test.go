package localai

import (
	"fmt"
	"strings"
)

// packageCorpus is a page of 20 package search results as the search
// service sends them: a name, a one-line summary and a description of
// about 500 characters each.
func packageCorpus() []Document {
	names := []string{
		"redis-py", "mysql-connector", "go-redis", "node-mysql2", "rueidis", "PyMySQL", "ioredis", "sqlalchemy",
		"mariadb-connector-c", "redis-om", "jedis", "lettuce", "hiredis", "mysqlclient", "Predis", "redisson",
		"aiomysql", "Full-Text-Search", "elasticsearch-dsl", "meilisearch-go",
	}
	summaries := []string{
		"Python client for Redis, the in-memory data store.",
		"Official MySQL driver for Python applications.",
		"Type-safe Redis client for Go with cluster support.",
		"Fast MySQL client for Node.js with prepared statements.",
		"Fast Golang Redis client with client-side caching.",
		"Pure-Python MySQL client library.",
		"Robust, performance-focused Redis client for Node.js.",
		"The Database Toolkit and ORM for Python.",
		"MariaDB Connector/C: the client library for C applications.",
		"Object mapping and more for Redis and Python.",
		"Blazingly small and sane Redis Java client.",
		"Advanced Java Redis client for thread-safe sync, async and reactive usage.",
		"Minimalistic C client for Redis >= 1.2.",
		"Python interface to MySQL, a fork of MySQLdb.",
		"A flexible and feature-complete Redis client for PHP.",
		"Redis Java client with features of an in-memory data grid.",
		"asyncio driver for MySQL built on PyMySQL.",
		"Full-text search engine library with stemming and ranking.",
		"High-level Python client for Elasticsearch queries.",
		"Go client for Meilisearch: typo-tolerant instant search.",
	}
	sentences := []string{
		"It supports connection pooling, pipelining and automatic reconnection after network failures.",
		"Cluster mode discovers every node and routes each command to the shard that owns the key.",
		"Prepared statements are cached per connection, so repeated queries skip parsing on the server.",
		"The driver speaks the binary protocol and streams large result sets row by row.",
		"TLS, authentication plugins and compression are configured through a single options struct.",
		"Transactions, Lua scripting and Pub/Sub are available on every client.",
		"Sentinel support fails over to a replica when the primary stops answering.",
		"Query results are decoded into native types without reflection on the hot path.",
		"The library is tested against MySQL 5.7, MySQL 8.0 and MariaDB 10.6 in continuous integration.",
		"Client-side caching keeps hot keys in memory and invalidates them when the server says so.",
		"Connections are health-checked in the background and idle ones are closed after a timeout.",
		"Benchmarks show latency under one millisecond for simple commands on a local network.",
		"Full-text indexes rank documents by relevance, with stemming for English and other languages.",
		"Typo tolerance and prefix search make instant search feel responsive as the user types.",
		"An ORM maps tables to classes and builds SQL from expressions instead of strings.",
		"Migrations keep the database schema in step with the application's models.",
		"Async APIs integrate with the event loop, so thousands of queries can run concurrently.",
		"Metrics and tracing hooks report every command's duration to your observability stack.",
		"The project is maintained by a community of contributors and released under the MIT licence.",
		"Documentation covers installation, configuration, and common patterns with examples.",
		"Bulk inserts batch rows into multi-value statements to cut round trips to the database.",
		"Geo commands, streams and JSON documents are supported through dedicated modules.",
		"Its zero-copy parser keeps memory allocations low even under heavy load.",
		"Replica reads can be enabled to spread read-only queries across the cluster.",
	}
	docs := make([]Document, len(names))
	for i := range names {
		var b strings.Builder
		for k := 0; b.Len() < 480; k++ {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(sentences[(i*5+k*7)%len(sentences)])
		}
		table := "packages"
		if i%6 == 5 {
			table = "projects"
		}
		docs[i] = Document{ID: fmt.Sprint(1000 + i), Database: "src1", Table: table, Fields: []Field{
			{Name: "name", Text: names[i]},
			{Name: "summary", Text: summaries[i]},
			{Name: "description", Text: b.String()},
		}}
	}
	return docs
}

// categorizeCases are requests whose local answers are pinned in
// testdata/categorize.golden.json.
func categorizeCases() map[string]CategorizeRequest {
	page := packageCorpus()
	oneTable := make([]Document, len(page))
	for i, d := range page {
		d.Table = "packages"
		oneTable[i] = d
	}
	withCategory := make([]Document, len(page))
	for i, d := range page {
		d.Fields = append(append([]Field{}, d.Fields...), Field{Name: "Tags", Text: []string{"database, Redis", "sql,  orm", "", "Search,Full-Text"}[i%4]})
		withCategory[i] = d
	}
	return map[string]CategorizeRequest{
		"page":                 {Documents: page, Query: "redis client", MaxCategories: 3},
		"page-no-query":        {Documents: page, MaxCategories: 3},
		"page-ten-categories":  {Documents: page, Query: "Python MySQL", MaxCategories: 10},
		"page-one-table":       {Documents: oneTable, Query: "redis", MaxCategories: 3},
		"page-category-column": {Documents: withCategory, Query: "client", MaxCategories: 5},
		"one-document":         {Documents: page[:1], Query: "redis", MaxCategories: 3},
		"two-documents":        {Documents: page[1:3], Query: "", MaxCategories: 3},
		"nothing-shared": {Documents: []Document{
			{ID: "x", Fields: []Field{{Name: "body", Text: "Lonely words here"}}},
			{ID: "y", Fields: []Field{{Name: "body", Text: "Different vocabulary entirely"}}},
		}, MaxCategories: 3},
		"unicode": {Documents: []Document{
			{ID: "a", Table: "Articles", Fields: []Field{{Name: "title", Text: "Ärger über ÉCOLE naïve — Straße, straße, STRASSE"}, {Name: "body", Text: "Café crème, café noir; CAFÉ! O'Neil's full-text x86_64 v1.2.3"}}},
			{ID: "b", Table: "Articles", Fields: []Field{{Name: "title", Text: "日本語 テキスト café"}, {Name: "body", Text: "O'Neil's naïve café, Straße 42"}}},
			{ID: "c", Table: "", Fields: []Field{{Name: "genre", Text: "Jazz, , Blues"}, {Name: "body", Text: "full-text café"}}},
		}, Query: "the", MaxCategories: 3},
	}
}
