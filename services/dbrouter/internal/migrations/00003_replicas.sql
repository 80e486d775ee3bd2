-- +goose Up
-- replicas lists a source's read replicas as a JSON array of
-- {"host": ..., "port": ...}; they share the source's database and
-- credentials. NULL means none.
ALTER TABLE data_sources ADD COLUMN replicas TEXT NULL;

-- +goose Down
ALTER TABLE data_sources DROP COLUMN replicas;
