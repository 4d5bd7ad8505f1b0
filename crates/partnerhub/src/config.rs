//! Configuration: command-line options, each also an environment variable `PARTNERHUB_*`, optionally a TOML file.

use clap::Args;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./partnerhub-data/partnerhub.db";
pub const DEFAULT_DATA_DIR: &str = "./partnerhub-data";

/// Options shared by every command that opens the database.
#[derive(Debug, Clone, Args)]
pub struct StoreOptions {
    /// Database URL: `sqlite://PATH` (embedded, created when missing) or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, env = "PARTNERHUB_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder for files: artifacts, attachments and the secret key file.
    #[arg(long, env = "PARTNERHUB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Base64 of 32 bytes sealing secrets at rest; default: the file `secret.key` in the data folder.
    #[arg(long, env = "PARTNERHUB_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// A TOML file with the same settings (snake_case keys); options and environment variables win over it.
    #[arg(long, env = "PARTNERHUB_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Options of `serve` (and `demo`).
#[derive(Debug, Clone, Args)]
pub struct ServeOptions {
    /// Address to listen on.
    #[arg(long, env = "PARTNERHUB_LISTEN")]
    pub listen: Option<String>,
    /// The publisher's (operator's) API token for `/v1/publisher/…`; publisher endpoints answer 401 without it.
    #[arg(long, env = "PARTNERHUB_PUBLISHER_TOKEN", hide_env_values = true)]
    pub publisher_token: Option<String>,
    /// Public base URL used in the links the server prints and returns, e.g. `https://partnerhub.example.com`.
    #[arg(long, env = "PARTNERHUB_BASE_URL")]
    pub base_url: Option<String>,
    /// Accept `http://` webhook endpoints on this machine (127.0.0.1, ::1, localhost) and https:// ones at
    /// private addresses: for tests and local development only.
    #[arg(long, env = "PARTNERHUB_ALLOW_INSECURE_WEBHOOKS")]
    pub allow_insecure_webhooks: bool,
}

/// The TOML file's shape: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub publisher_token: Option<String>,
    pub base_url: Option<String>,
    pub secret_key: Option<String>,
    pub allow_insecure_webhooks: Option<bool>,
}

/// The settings in force, after options, environment, file and defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub publisher_token: Option<String>,
    pub base_url: String,
    pub secret_key: Option<String>,
    pub allow_insecure_webhooks: bool,
}

pub fn load_file(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    match path {
        None => Ok(FileConfig::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
        }
    }
}

impl Settings {
    pub fn resolve(store: &StoreOptions, serve: Option<&ServeOptions>) -> anyhow::Result<Settings> {
        let file = load_file(store.config.as_deref())?;
        let listen = serve.and_then(|s| s.listen.clone()).or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.into());
        let base_url = serve
            .and_then(|s| s.base_url.clone())
            .or(file.base_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        Ok(Settings {
            database_url: store
                .database_url
                .clone()
                .or(file.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            data_dir: store.data_dir.clone().or(file.data_dir).unwrap_or_else(|| DEFAULT_DATA_DIR.into()),
            publisher_token: serve.and_then(|s| s.publisher_token.clone()).or(file.publisher_token),
            secret_key: store.secret_key.clone().or(file.secret_key),
            allow_insecure_webhooks: serve.is_some_and(|s| s.allow_insecure_webhooks)
                || file.allow_insecure_webhooks.unwrap_or(false),
            listen,
            base_url,
        })
    }

    /// The database URL with any password hidden, for logs.
    pub fn redacted_database_url(&self) -> String {
        redact(&self.database_url)
    }
}

pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub const EXAMPLE: &str = r#"# Partnerhub configuration (TOML). Every key is optional; a command-line option or a PARTNERHUB_* environment
# variable of the same name wins over this file. Use it with `partnerhub serve --config partnerhub.toml`.

# Address to listen on (PARTNERHUB_LISTEN).
listen = "127.0.0.1:8080"

# sqlite://PATH (embedded, created when missing) or postgres://USER:PASSWORD@HOST:PORT/DB (PARTNERHUB_DATABASE_URL).
database_url = "sqlite://./partnerhub-data/partnerhub.db"

# Folder for artifacts, attachments and the secret key file (PARTNERHUB_DATA_DIR).
data_dir = "./partnerhub-data"

# The publisher's API token for /v1/publisher/... (PARTNERHUB_PUBLISHER_TOKEN). Prefer the environment variable.
# publisher_token = "change-me"

# Public base URL for links (PARTNERHUB_BASE_URL).
# base_url = "https://partnerhub.example.com"

# Base64 of 32 random bytes sealing secrets at rest (PARTNERHUB_SECRET_KEY); default: <data_dir>/secret.key.
# secret_key = "..."

# Accept http:// webhook endpoints on this machine, and https:// ones at private addresses
# (PARTNERHUB_ALLOW_INSECURE_WEBHOOKS). For tests and local development only.
# allow_insecure_webhooks = false
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://ph:s3cret@db:5432/ph"), "postgres://ph:***@db:5432/ph");
        assert_eq!(redact("postgres://ph@db/ph"), "postgres://ph@db/ph");
        assert_eq!(redact("sqlite://./x.db"), "sqlite://./x.db");
    }

    #[test]
    fn example_config_parses_and_unknown_keys_are_refused() {
        let parsed: FileConfig = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(parsed.listen.as_deref(), Some(DEFAULT_LISTEN));
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
    }
}
