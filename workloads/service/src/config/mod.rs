//! The one settings type of the service. Sources, strongest first: environment, command line, TOML config file,
//! defaults (the deployment guide's order). Every value is validated at start with an error naming the setting.

pub mod env_names;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use env_names::ENV_VARS;

/// Where an effective value came from, shown by `aibid config check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    CommandLine,
    Environment,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Default => "default",
            Source::File => "config file",
            Source::CommandLine => "command line",
            Source::Environment => "environment",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("setting {name}: {problem}")]
    Invalid { name: &'static str, problem: String },
    #[error("config file {path}: {problem}")]
    File { path: PathBuf, problem: String },
    #[error("unknown setting {0:?} (known: {known})", known = ENV_VARS.join(", "))]
    Unknown(String),
}

fn invalid(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        problem: problem.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Effective settings of one process.
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    /// PostgreSQL connections per process; SQLite always uses one (see `Store::connect`).
    pub database_pool_size: u32,
    /// None: the in-process queue (embedded mode).
    pub redis_url: Option<String>,
    pub worker_concurrency: usize,
    /// None only in embedded mode, where `up` generates a per-process secret.
    pub jwt_secret: Option<String>,
    pub encryption_key: Option<String>,
    pub log_level: String,
    pub log_format: LogFormat,
    pub upload_path: PathBuf,
    pub output_path: PathBuf,
    pub max_file_size: u64,
    pub llm_provider: String,
    pub llm_api_key: Option<String>,
    pub llm_model: String,
    pub llm_base_url: String,
    pub llm_timeout_secs: u64,
    pub llm_max_retries: u32,
    pub metrics_enabled: bool,
    pub metrics_port: u16,
    pub api_port: u16,
    pub ui_port: u16,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub retention_days: u32,
    sources: BTreeMap<&'static str, Source>,
}

// Secrets are never printed, not even through Debug.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_masked())
    }
}

const SECRETS: &[&str] = &[
    "JWT_SECRET",
    "ENCRYPTION_KEY",
    "LLM_API_KEY",
    "ADMIN_PASSWORD",
];

fn default_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "DATABASE_URL" => "sqlite://data/aibid.db?mode=rwc",
        "DATABASE_POOL_SIZE" => "10",
        "WORKER_CONCURRENCY" => "4",
        "LOG_LEVEL" => "info",
        "LOG_FORMAT" => "text",
        "UPLOAD_PATH" => "data/uploads",
        "OUTPUT_PATH" => "data/outputs",
        "MAX_FILE_SIZE" => "50MiB",
        "LLM_PROVIDER" => "deepseek",
        "LLM_MODEL" => "deepseek-chat",
        "LLM_BASE_URL" => "https://api.deepseek.com",
        "LLM_TIMEOUT" => "300",
        "LLM_MAX_RETRIES" => "3",
        "METRICS_ENABLED" => "true",
        "METRICS_PORT" => "9090",
        "API_PORT" => "8000",
        "UI_PORT" => "7860",
        "RETENTION_DAYS" => "30",
        _ => return None,
    })
}

fn known_name(name: &str) -> Result<&'static str, ConfigError> {
    ENV_VARS
        .iter()
        .copied()
        .find(|n| *n == name)
        .ok_or_else(|| ConfigError::Unknown(name.to_string()))
}

/// Raw values by setting name, collected from every source before validation.
#[derive(Debug, Default, Clone)]
pub struct Layers {
    values: BTreeMap<&'static str, (String, Source)>,
}

impl Layers {
    /// Applies a source; later calls win, so call in order defaults, file, command line, environment.
    fn apply(&mut self, name: &'static str, value: String, source: Source) {
        self.values.insert(name, (value, source));
    }

    /// Reads a TOML file whose keys are the setting names in lower or upper case (`database_url = "..."`).
    pub fn file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let file_error = |problem: String| ConfigError::File {
            path: path.to_path_buf(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_error(e.to_string()))?;
        for (key, value) in table {
            let name = known_name(&key.to_ascii_uppercase())?;
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(file_error(format!(
                        "{key}: expected a string, number or boolean, got {other}"
                    )))
                }
            };
            self.apply(name, value, Source::File);
        }
        Ok(())
    }

    /// `NAME=VALUE` pairs given on the command line.
    pub fn command_line(&mut self, pairs: &[(String, String)]) -> Result<(), ConfigError> {
        for (key, value) in pairs {
            let name = known_name(&key.to_ascii_uppercase())?;
            self.apply(name, value.clone(), Source::CommandLine);
        }
        Ok(())
    }

    /// Reads every known setting from an environment lookup (a closure so tests need not touch the process env).
    pub fn environment(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        for name in ENV_VARS {
            if let Some(value) = lookup(name) {
                self.apply(name, value, Source::Environment);
            }
        }
    }
}

/// Loads settings from all sources in the guide's order.
pub fn load(
    config_file: Option<&Path>,
    command_line: &[(String, String)],
) -> Result<Settings, ConfigError> {
    let mut layers = Layers::default();
    if let Some(path) = config_file {
        layers.file(path)?;
    }
    layers.command_line(command_line)?;
    layers.environment(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    Settings::from_layers(&layers)
}

fn parse_number<T: std::str::FromStr>(name: &'static str, raw: &str) -> Result<T, ConfigError> {
    raw.trim()
        .parse()
        .map_err(|_| invalid(name, format!("expected a whole number, got {raw:?}")))
}

fn parse_bool(name: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(
            name,
            format!("expected true or false, got {raw:?}"),
        )),
    }
}

/// "52428800", "50MiB", "50MB", "512KiB" -> bytes (MB treated as MiB, as operators write it).
fn parse_size(name: &'static str, raw: &str) -> Result<u64, ConfigError> {
    let text = raw.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| invalid(name, format!("expected a size like 50MiB, got {raw:?}")))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(invalid(
                name,
                format!("unknown size unit {other:?} in {raw:?}"),
            ))
        }
    };
    let bytes = number
        .checked_mul(factor)
        .ok_or_else(|| invalid(name, "size too large"))?;
    if bytes == 0 {
        return Err(invalid(name, "must be greater than zero"));
    }
    Ok(bytes)
}

fn parse_port(name: &'static str, raw: &str) -> Result<u16, ConfigError> {
    let port: u16 = parse_number(name, raw)?;
    if port == 0 {
        return Err(invalid(name, "port must be 1-65535"));
    }
    Ok(port)
}

fn check_url(name: &'static str, raw: &str, schemes: &[&str]) -> Result<String, ConfigError> {
    let scheme = raw.split_once("://").map(|(s, _)| s).unwrap_or("");
    if !schemes.contains(&scheme) {
        return Err(invalid(
            name,
            format!(
                "URL scheme must be one of {} (got {:?})",
                schemes.join(", "),
                mask_url(raw)
            ),
        ));
    }
    Ok(raw.to_string())
}

/// Hides the password of `scheme://user:password@host` so URLs can be printed.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

impl Settings {
    pub fn from_layers(layers: &Layers) -> Result<Settings, ConfigError> {
        let mut sources = BTreeMap::new();
        let mut get = |name: &'static str| -> Option<String> {
            match layers.values.get(name) {
                Some((value, source)) => {
                    sources.insert(name, *source);
                    Some(value.clone())
                }
                None => {
                    sources.insert(name, Source::Default);
                    default_of(name).map(str::to_string)
                }
            }
        };
        let required = |name: &'static str, value: Option<String>| {
            value.ok_or_else(|| invalid(name, "missing"))
        };

        let database_url = check_url(
            "DATABASE_URL",
            &required("DATABASE_URL", get("DATABASE_URL"))?,
            &["postgres", "postgresql", "sqlite"],
        )?;
        let redis_url = match get("REDIS_URL") {
            Some(url) => Some(check_url("REDIS_URL", &url, &["redis", "rediss"])?),
            None => None,
        };
        let jwt_secret = get("JWT_SECRET");
        if let Some(secret) = &jwt_secret {
            if secret.chars().count() < 32 {
                return Err(invalid("JWT_SECRET", "must be at least 32 characters"));
            }
        }
        let encryption_key = get("ENCRYPTION_KEY");
        if let Some(key) = &encryption_key {
            if key.chars().count() < 32 {
                return Err(invalid(
                    "ENCRYPTION_KEY",
                    "must be at least 32 characters (it encrypts stored files; use a long random string)",
                ));
            }
        }
        let log_format = match required("LOG_FORMAT", get("LOG_FORMAT"))?
            .to_ascii_lowercase()
            .as_str()
        {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "LOG_FORMAT",
                    format!("expected json or text, got {other:?}"),
                ))
            }
        };
        let log_level = required("LOG_LEVEL", get("LOG_LEVEL"))?.to_ascii_lowercase();
        if !["trace", "debug", "info", "warn", "warning", "error"].contains(&log_level.as_str()) {
            return Err(invalid(
                "LOG_LEVEL",
                format!("expected trace, debug, info, warn or error, got {log_level:?}"),
            ));
        }
        let llm_base_url = check_url(
            "LLM_BASE_URL",
            &required("LLM_BASE_URL", get("LLM_BASE_URL"))?,
            &["http", "https"],
        )?;
        let admin_email = get("ADMIN_EMAIL");
        if let Some(email) = &admin_email {
            if !email.contains('@') {
                return Err(invalid("ADMIN_EMAIL", "expected an e-mail address"));
            }
        }
        let admin_password = get("ADMIN_PASSWORD");
        if let Some(password) = &admin_password {
            if password.chars().count() < 8 {
                return Err(invalid("ADMIN_PASSWORD", "must be at least 8 characters"));
            }
        }
        let database_pool_size: u32 = parse_number(
            "DATABASE_POOL_SIZE",
            &required("DATABASE_POOL_SIZE", get("DATABASE_POOL_SIZE"))?,
        )?;
        if database_pool_size == 0 {
            return Err(invalid("DATABASE_POOL_SIZE", "must be at least 1"));
        }
        let worker_concurrency: usize = parse_number(
            "WORKER_CONCURRENCY",
            &required("WORKER_CONCURRENCY", get("WORKER_CONCURRENCY"))?,
        )?;
        if worker_concurrency == 0 {
            return Err(invalid("WORKER_CONCURRENCY", "must be at least 1"));
        }
        let settings = Settings {
            database_url,
            database_pool_size,
            redis_url,
            worker_concurrency,
            jwt_secret,
            encryption_key,
            log_level,
            log_format,
            upload_path: PathBuf::from(required("UPLOAD_PATH", get("UPLOAD_PATH"))?),
            output_path: PathBuf::from(required("OUTPUT_PATH", get("OUTPUT_PATH"))?),
            max_file_size: parse_size(
                "MAX_FILE_SIZE",
                &required("MAX_FILE_SIZE", get("MAX_FILE_SIZE"))?,
            )?,
            llm_provider: required("LLM_PROVIDER", get("LLM_PROVIDER"))?,
            llm_api_key: get("LLM_API_KEY"),
            llm_model: required("LLM_MODEL", get("LLM_MODEL"))?,
            llm_base_url,
            llm_timeout_secs: parse_number(
                "LLM_TIMEOUT",
                &required("LLM_TIMEOUT", get("LLM_TIMEOUT"))?,
            )?,
            llm_max_retries: parse_number(
                "LLM_MAX_RETRIES",
                &required("LLM_MAX_RETRIES", get("LLM_MAX_RETRIES"))?,
            )?,
            metrics_enabled: parse_bool(
                "METRICS_ENABLED",
                &required("METRICS_ENABLED", get("METRICS_ENABLED"))?,
            )?,
            metrics_port: parse_port(
                "METRICS_PORT",
                &required("METRICS_PORT", get("METRICS_PORT"))?,
            )?,
            api_port: parse_port("API_PORT", &required("API_PORT", get("API_PORT"))?)?,
            ui_port: parse_port("UI_PORT", &required("UI_PORT", get("UI_PORT"))?)?,
            admin_email,
            admin_password,
            retention_days: parse_number(
                "RETENTION_DAYS",
                &required("RETENTION_DAYS", get("RETENTION_DAYS"))?,
            )?,
            sources,
        };
        Ok(settings)
    }

    /// Checks the settings a cluster role cannot run without (embedded `up` fills these in itself).
    pub fn require_cluster(&self) -> Result<(), ConfigError> {
        if self.jwt_secret.is_none() {
            return Err(invalid(
                "JWT_SECRET",
                "missing (required outside `aibid up`)",
            ));
        }
        Ok(())
    }

    pub fn uses_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    /// The effective settings, one `NAME = value (source)` line each, secrets masked.
    pub fn render_masked(&self) -> String {
        let mut out = String::new();
        for name in ENV_VARS {
            let value = self.display_value(name);
            let source = self.sources.get(name).copied().unwrap_or(Source::Default);
            out.push_str(&format!("{name} = {value} ({source})\n"));
        }
        out
    }

    fn display_value(&self, name: &str) -> String {
        let optional = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".to_string());
        let secret = |v: &Option<String>| {
            if v.is_some() {
                "****".to_string()
            } else {
                "(unset)".to_string()
            }
        };
        debug_assert!(SECRETS.iter().all(|s| ENV_VARS.contains(s)));
        match name {
            "DATABASE_URL" => mask_url(&self.database_url),
            "DATABASE_POOL_SIZE" => self.database_pool_size.to_string(),
            "REDIS_URL" => self
                .redis_url
                .as_deref()
                .map(mask_url)
                .unwrap_or_else(|| "(unset: in-process queue)".into()),
            "WORKER_CONCURRENCY" => self.worker_concurrency.to_string(),
            "JWT_SECRET" => secret(&self.jwt_secret),
            "ENCRYPTION_KEY" => secret(&self.encryption_key),
            "LOG_LEVEL" => self.log_level.clone(),
            "LOG_FORMAT" => format!("{:?}", self.log_format).to_lowercase(),
            "UPLOAD_PATH" => self.upload_path.display().to_string(),
            "OUTPUT_PATH" => self.output_path.display().to_string(),
            "MAX_FILE_SIZE" => format!("{} bytes", self.max_file_size),
            "LLM_PROVIDER" => self.llm_provider.clone(),
            "LLM_API_KEY" => secret(&self.llm_api_key),
            "LLM_MODEL" => self.llm_model.clone(),
            "LLM_BASE_URL" => self.llm_base_url.clone(),
            "LLM_TIMEOUT" => format!("{} s", self.llm_timeout_secs),
            "LLM_MAX_RETRIES" => self.llm_max_retries.to_string(),
            "METRICS_ENABLED" => self.metrics_enabled.to_string(),
            "METRICS_PORT" => self.metrics_port.to_string(),
            "API_PORT" => self.api_port.to_string(),
            "UI_PORT" => self.ui_port.to_string(),
            "ADMIN_EMAIL" => optional(&self.admin_email),
            "ADMIN_PASSWORD" => secret(&self.admin_password),
            "RETENTION_DAYS" => self.retention_days.to_string(),
            _ => "(unknown)".to_string(),
        }
    }
}

impl Settings {
    /// Settings from `NAME=VALUE` pairs over the defaults only (no environment, no file): for tests and tools
    /// that must not pick up the caller's environment.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut layers = Layers::default();
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        layers.command_line(&owned)?;
        Settings::from_layers(&layers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_from(
        file: Option<&str>,
        cli: &[(&str, &str)],
        env: &[(&str, &str)],
    ) -> Result<Settings, ConfigError> {
        let mut layers = Layers::default();
        let dir = std::env::temp_dir().join(format!("aibid-config-{}", uuid::Uuid::new_v4()));
        if let Some(text) = file {
            std::fs::create_dir_all(&dir).map_err(|e| invalid("TEST", e.to_string()))?;
            let path = dir.join("aibid.toml");
            std::fs::write(&path, text).map_err(|e| invalid("TEST", e.to_string()))?;
            layers.file(&path)?;
        }
        let cli: Vec<(String, String)> = cli
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        layers.command_line(&cli)?;
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        layers.environment(|name| env.get(name).cloned());
        Settings::from_layers(&layers)
    }

    #[test]
    fn environment_beats_command_line_beats_file_beats_default() {
        let file = "api_port = 1001\nui_port = 2001\nmetrics_port = 3001\n";
        let s = settings_from(
            Some(file),
            &[("API_PORT", "1002"), ("UI_PORT", "2002")],
            &[("API_PORT", "1003")],
        )
        .unwrap();
        assert_eq!(s.api_port, 1003);
        assert_eq!(s.ui_port, 2002);
        assert_eq!(s.metrics_port, 3001);
        assert_eq!(s.retention_days, 30);
        assert!(s.render_masked().contains("API_PORT = 1003 (environment)"));
        assert!(s
            .render_masked()
            .contains("METRICS_PORT = 3001 (config file)"));
    }

    #[test]
    fn errors_name_the_setting() {
        let cases = [
            ("DATABASE_URL", "mysql://x/y"),
            ("JWT_SECRET", "short"),
            ("ENCRYPTION_KEY", "only-31-characters-long-0123456"),
            ("LOG_FORMAT", "xml"),
            ("MAX_FILE_SIZE", "fifty"),
            ("API_PORT", "70000"),
            ("REDIS_URL", "http://localhost"),
            ("WORKER_CONCURRENCY", "0"),
        ];
        for (name, value) in cases {
            let err = settings_from(None, &[], &[(name, value)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(name), "{name}={value} gave {err:?}");
        }
        let unknown = settings_from(Some("no_such_setting = 1\n"), &[], &[])
            .err()
            .map(|e| e.to_string());
        assert!(unknown.unwrap_or_default().contains("NO_SUCH_SETTING"));
    }

    #[test]
    fn secrets_are_masked_in_the_rendered_config() {
        let env = [
            ("JWT_SECRET", "s3cr3t-jwt-value-that-is-long-enough-123"),
            ("LLM_API_KEY", "sk-very-secret-key"),
            ("ADMIN_PASSWORD", "admin-password-42"),
            ("ENCRYPTION_KEY", "encryption-key-secret-value-0123456789"),
            (
                "DATABASE_URL",
                "postgres://aibid:dbpass-secret@db:5432/aibid",
            ),
        ];
        let s = settings_from(None, &[], &env).unwrap();
        let text = format!("{}{:?}", s.render_masked(), s);
        for (_, secret) in env.iter().take(4) {
            assert!(!text.contains(secret), "secret leaked: {text}");
        }
        assert!(!text.contains("dbpass-secret"));
        assert!(
            text.contains("ENCRYPTION_KEY = **** (environment)"),
            "{text}"
        );
        assert!(text.contains("postgres://aibid:***@db:5432/aibid"));
    }

    #[test]
    fn an_encryption_key_of_32_characters_is_accepted() {
        let key = "exactly-32-characters-long-01234";
        assert_eq!(key.chars().count(), 32);
        let s = settings_from(None, &[], &[("ENCRYPTION_KEY", key)]).unwrap();
        assert_eq!(s.encryption_key.as_deref(), Some(key));
    }

    #[test]
    fn sizes_accept_units() {
        assert_eq!(parse_size("MAX_FILE_SIZE", "50MiB").ok(), Some(50 << 20));
        assert_eq!(parse_size("MAX_FILE_SIZE", "1024").ok(), Some(1024));
        assert!(parse_size("MAX_FILE_SIZE", "0").is_err());
    }

    /// Every setting the operator renders must be read here, and every setting read here must be renderable there.
    /// Read at run time (not include_str!) so this crate builds on a branch where the operator file is absent;
    /// the test fails loudly in that case.
    #[test]
    fn operator_renders_exactly_the_settings_the_service_reads() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../operator/src/render/settings.rs");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "operator settings list {} not readable ({e}); merge the operator branch",
                path.display()
            )
        });
        // The operator's own tests (which read this crate's list) are not part of what it renders.
        let rendered = text.split("#[cfg(test)]").next().unwrap_or_default();
        let operator: std::collections::BTreeSet<&str> = quoted_upper_names(rendered);
        let service: std::collections::BTreeSet<&str> = ENV_VARS.iter().copied().collect();
        let not_read: Vec<_> = operator.difference(&service).collect();
        let not_rendered: Vec<_> = service.difference(&operator).collect();
        assert!(
            not_read.is_empty(),
            "operator renders settings the service never reads: {not_read:?}"
        );
        assert!(
            not_rendered.is_empty(),
            "service reads settings the operator cannot render: {not_rendered:?}"
        );
    }

    /// Quoted names made of A-Z, 0-9 and _ (the shape of an env var name) in a Rust source file.
    fn quoted_upper_names(text: &str) -> std::collections::BTreeSet<&str> {
        text.split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| {
                s.len() > 2
                    && s.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .collect()
    }
}
