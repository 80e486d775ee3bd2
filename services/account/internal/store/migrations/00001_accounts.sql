-- +goose Up
CREATE TABLE users (
    id            CHAR(36)     NOT NULL,
    email         VARCHAR(255) NOT NULL,
    name          VARCHAR(100) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    role          VARCHAR(16)  NOT NULL DEFAULT 'user',
    is_active     TINYINT(1)   NOT NULL DEFAULT 1,
    created_at    DATETIME(3)  NOT NULL,
    updated_at    DATETIME(3)  NOT NULL,
    last_active   DATETIME(3)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE sessions (
    id         CHAR(36)    NOT NULL,
    user_id    CHAR(36)    NOT NULL,
    created_at DATETIME(3) NOT NULL,
    expires_at DATETIME(3) NOT NULL,
    revoked_at DATETIME(3) NULL,
    PRIMARY KEY (id),
    KEY idx_sessions_user (user_id, revoked_at),
    KEY idx_sessions_expires (expires_at),
    CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE api_keys (
    id                CHAR(36)        NOT NULL,
    user_id           CHAR(36)        NOT NULL,
    key_prefix        VARCHAR(30)     NOT NULL,
    key_hash          CHAR(64)        NOT NULL,
    name              VARCHAR(100)    NOT NULL,
    environment       VARCHAR(8)      NOT NULL DEFAULT 'test',
    permissions       JSON            NOT NULL,
    rate_limit_tier   VARCHAR(16)     NOT NULL DEFAULT 'free',
    rate_limit_custom JSON            NULL,
    expires_at        DATETIME(3)     NULL,
    last_used         DATETIME(3)     NULL,
    last_used_ip      VARCHAR(45)     NULL,
    usage_count       BIGINT UNSIGNED NOT NULL DEFAULT 0,
    is_active         TINYINT(1)      NOT NULL DEFAULT 1,
    created_at        DATETIME(3)     NOT NULL,
    updated_at        DATETIME(3)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_api_keys_hash (key_hash),
    KEY idx_api_keys_prefix (key_prefix),
    KEY idx_api_keys_user_active (user_id, is_active),
    CONSTRAINT fk_api_keys_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE api_keys;
DROP TABLE sessions;
DROP TABLE users;
