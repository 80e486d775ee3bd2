-- +goose Up
-- search_analytics records every search the service answers (cache hits
-- included). Its first columns are those of Altus 4 v1's table of the same
-- name, so v1 rows can be copied in and v1 reports keep working; the others
-- are additions. History and trends read one user's rows newest first,
-- through idx_search_analytics_user_created.
CREATE TABLE IF NOT EXISTS search_analytics (
    id                CHAR(36)    NOT NULL,
    user_id           CHAR(36)    NOT NULL,
    query_text        TEXT        NOT NULL,
    search_mode       VARCHAR(20) NOT NULL DEFAULT 'natural',
    -- The first source searched (v1 kept one), or NULL.
    database_id       CHAR(36)    NULL,
    -- Results returned on the page.
    result_count      INT         NOT NULL DEFAULT 0,
    execution_time_ms INT         NOT NULL DEFAULT 0,
    clicked_results   JSON        NULL,
    -- Every source searched, as a JSON array of ids.
    `databases`       JSON        NULL,
    api_key_id        CHAR(36)    NULL,
    cached            TINYINT(1)  NOT NULL DEFAULT 0,
    -- Matches across all pages.
    total_count       INT         NOT NULL DEFAULT 0,
    created_at        DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    KEY idx_search_analytics_user_created (user_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS search_analytics;
