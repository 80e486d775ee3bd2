-- +goose Up
-- Click-through and per-source analytics. result_offset is the offset of
-- the page a search returned, so that the positions it showed
-- (result_offset+1 .. result_offset+result_count) can be counted as
-- impressions. source_timings holds each source searched as
-- {"id","ms","failed"}. The two covering indexes let the reports aggregate
-- without reading rows: idx_search_analytics_user_cover serves one user's
-- range of created_at, idx_search_analytics_created_cover the system-wide
-- (admin) reports by range of created_at.
ALTER TABLE search_analytics
    ADD COLUMN result_offset  INT  NOT NULL DEFAULT 0 AFTER result_count,
    ADD COLUMN source_timings JSON NULL,
    ADD KEY idx_search_analytics_user_cover (user_id, created_at, execution_time_ms, total_count, result_count, result_offset, cached, search_mode),
    ADD KEY idx_search_analytics_created_cover (created_at, user_id, execution_time_ms, total_count, result_count);

-- search_clicks records the results users opened. A click names the
-- search (its event id) and is kept with the user who clicked; reports
-- count it only when the search is that user's (the event is written
-- asynchronously, so a click may be stored before its search row).
CREATE TABLE IF NOT EXISTS search_clicks (
    id         CHAR(36)     NOT NULL,
    search_id  CHAR(36)     NOT NULL,
    user_id    CHAR(36)     NOT NULL,
    result_id  VARCHAR(512) NOT NULL,
    position   INT          NOT NULL,
    created_at DATETIME(3)  NOT NULL,
    PRIMARY KEY (id),
    KEY idx_search_clicks_user_created (user_id, created_at),
    KEY idx_search_clicks_search (search_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS search_clicks;
ALTER TABLE search_analytics
    DROP KEY idx_search_analytics_created_cover,
    DROP KEY idx_search_analytics_user_cover,
    DROP COLUMN source_timings,
    DROP COLUMN result_offset;
