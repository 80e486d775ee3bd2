-- +goose Up
-- data_sources is the registry of the users' own databases. Its columns are
-- those of Altus 4 v1's database_connections (so v1 rows can be copied in
-- as they are), plus deleted_at (soft delete) and version, which changes on
-- every update so that every replica can tell its pools are stale.
CREATE TABLE IF NOT EXISTS data_sources (
    id                CHAR(36)     NOT NULL,
    user_id           CHAR(36)     NOT NULL,
    name              VARCHAR(100) NOT NULL,
    host              VARCHAR(255) NOT NULL,
    port              INT          NOT NULL DEFAULT 3306,
    database_name     VARCHAR(64)  NOT NULL,
    username          VARCHAR(255) NOT NULL,
    -- AES-256-GCM "ivHex:tagHex:cipherHex" under ENCRYPTION_KEY.
    password          TEXT         NOT NULL,
    ssl_enabled       TINYINT(1)   NOT NULL DEFAULT 0,
    is_active         TINYINT(1)   NOT NULL DEFAULT 1,
    connection_status VARCHAR(16)  NOT NULL DEFAULT 'unknown',
    last_tested       DATETIME(3)  NULL,
    created_at        DATETIME(3)  NOT NULL,
    updated_at        DATETIME(3)  NOT NULL,
    deleted_at        DATETIME(3)  NULL,
    version           INT          NOT NULL DEFAULT 1,
    PRIMARY KEY (id),
    KEY idx_data_sources_user (user_id, deleted_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS data_sources;
