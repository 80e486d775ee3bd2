-- +goose Up
-- ai_egress says what of a source's rows may be sent to the AI provider:
-- 'fulltext' (the columns of its FULLTEXT indexes), 'listed' (only the
-- "table.column" names of ai_columns, a JSON array) or 'none'.
ALTER TABLE data_sources
    ADD COLUMN ai_egress  VARCHAR(16) NOT NULL DEFAULT 'fulltext',
    ADD COLUMN ai_columns TEXT        NULL;

-- +goose Down
ALTER TABLE data_sources DROP COLUMN ai_columns, DROP COLUMN ai_egress;
