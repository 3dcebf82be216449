//! Every setting the service reads, by its environment variable name — the single list the operator's
//! renderer is tested against (`operator/src/render/settings.rs`). One quoted name per line, nothing else.

pub const ENV_VARS: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_POOL_SIZE",
    "REDIS_URL",
    "WORKER_CONCURRENCY",
    "JWT_SECRET",
    "ENCRYPTION_KEY",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "UPLOAD_PATH",
    "OUTPUT_PATH",
    "MAX_FILE_SIZE",
    "LLM_PROVIDER",
    "LLM_API_KEY",
    "LLM_MODEL",
    "LLM_BASE_URL",
    "LLM_TIMEOUT",
    "LLM_MAX_RETRIES",
    "METRICS_ENABLED",
    "METRICS_PORT",
    "API_PORT",
    "UI_PORT",
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "RETENTION_DAYS",
];
