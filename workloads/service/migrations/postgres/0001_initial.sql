-- Times are Unix seconds (INTEGER) so the same queries run on SQLite and PostgreSQL through sqlx::Any.
CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('bid_manager', 'technical_specialist', 'supervisor')),
    created_at BIGINT NOT NULL
);
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX projects_org_created ON projects(org_id, created_at DESC);
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    original_name TEXT NOT NULL,
    stored_name TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    pages BIGINT,
    analysis_json TEXT NOT NULL,
    document_json TEXT NOT NULL,
    ledger_json TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE ledger_items (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    item_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    original_text TEXT NOT NULL,
    marker TEXT,
    points DOUBLE PRECISION,
    category TEXT,
    anchor_json TEXT NOT NULL,
    requirement_json TEXT NOT NULL,
    edited_by TEXT,
    edited_at BIGINT,
    position BIGINT NOT NULL,
    PRIMARY KEY (project_id, item_id)
);
CREATE TABLE outlines (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    outline_json TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    approved_by TEXT,
    approved_at BIGINT,
    PRIMARY KEY (project_id, version)
);
CREATE TABLE sections (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    section_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    revision_count BIGINT NOT NULL DEFAULT 0,
    reviewer TEXT,
    approved_at BIGINT,
    error TEXT,
    tokens_in BIGINT NOT NULL DEFAULT 0,
    tokens_out BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, section_id)
);
CREATE TABLE section_versions (
    project_id TEXT NOT NULL,
    section_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    content TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, section_id, version),
    FOREIGN KEY (project_id, section_id) REFERENCES sections(project_id, section_id) ON DELETE CASCADE
);
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    section_id TEXT,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    worker TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    heartbeat_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX tasks_project ON tasks(project_id);
CREATE INDEX tasks_status ON tasks(status);
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    stored_name TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    org_id TEXT,
    user_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_org_created ON audit_log(org_id, created_at);
