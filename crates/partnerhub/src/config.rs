//! Configuration: command-line options, each also an environment variable `PARTNERHUB_*`, optionally a TOML file.

use clap::Args;
use domain::rate::Rate;
use serde::Deserialize;
use services::blobs::BlobLocation;
use std::path::{Path, PathBuf};
use std::time::Duration;
use web::ratelimit::RateLimits;
use web::server::ConnectionLimits;
use web::ServerLimits;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./partnerhub-data/partnerhub.db";
pub const DEFAULT_DATA_DIR: &str = "./partnerhub-data";

/// Options shared by every command that opens the database.
#[derive(Debug, Clone, Args)]
pub struct StoreOptions {
    /// Database URL: `sqlite://PATH` (embedded, created when missing) or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, env = "PARTNERHUB_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder for the secret key file and, unless --blob-store says otherwise, uploaded files (`<data-dir>/blobs`).
    #[arg(long, env = "PARTNERHUB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where uploaded files (artifacts, attachments) live: `file://PATH`, or `s3://BUCKET[/PREFIX]` on S3 or an
    /// S3-compatible service, configured by AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
    /// and AWS_ALLOW_HTTP (`true` for an endpoint without TLS) [default: file://<data-dir>/blobs].
    #[arg(long, env = "PARTNERHUB_BLOB_STORE", value_parser = BlobLocation::parse)]
    pub blob_store: Option<BlobLocation>,
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
    /// Where the operator's webhook (`key_stock_low`) is sent, signed like partner webhooks.
    #[arg(long, env = "PARTNERHUB_OPERATOR_WEBHOOK_URL")]
    pub operator_webhook_url: Option<String>,
    /// The operator webhook's signing secret (16 characters at least); needed with the URL.
    #[arg(long, env = "PARTNERHUB_OPERATOR_WEBHOOK_SECRET", hide_env_values = true)]
    pub operator_webhook_secret: Option<String>,
    #[command(flatten)]
    pub limits: LimitOptions,
}

/// Connection and rate limits (of `serve` and `demo`).
#[derive(Debug, Clone, Default, Args)]
pub struct LimitOptions {
    /// Seconds a client has to send a request's head (request line and headers) once the server reads it
    /// [default: 10].
    #[arg(long, env = "PARTNERHUB_HEADER_READ_TIMEOUT_SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a connection may stay without a byte moving either way before it is closed [default: 60].
    #[arg(long, env = "PARTNERHUB_IDLE_TIMEOUT_SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_timeout_secs: Option<u64>,
    /// Connections served at once; further ones are closed at once [default: 1024].
    #[arg(long, env = "PARTNERHUB_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: Option<u64>,
    /// Requests per API token, as PER_MINUTE/BURST (0 turns the limit off) [default: 1200/100].
    #[arg(long, env = "PARTNERHUB_RATE_LIMIT_PER_TOKEN", value_parser = parse_rate)]
    pub rate_limit_per_token: Option<Rate>,
    /// Requests per client address (IPv6: per /64), download links excepted, as PER_MINUTE/BURST; behind a
    /// reverse proxy every client has the proxy's address, so limit there and set 0 here [default: 3000/200].
    #[arg(long, env = "PARTNERHUB_RATE_LIMIT_PER_ADDRESS", value_parser = parse_rate)]
    pub rate_limit_per_address: Option<Rate>,
    /// Requests to one download link, as PER_MINUTE/BURST [default: 60/20].
    #[arg(long, env = "PARTNERHUB_RATE_LIMIT_PER_LINK", value_parser = parse_rate)]
    pub rate_limit_per_link: Option<Rate>,
    /// Requests to download links from one client address, as PER_MINUTE/BURST [default: 120/30].
    #[arg(long, env = "PARTNERHUB_RATE_LIMIT_LINK_DOWNLOADS_PER_ADDRESS", value_parser = parse_rate)]
    pub rate_limit_link_downloads_per_address: Option<Rate>,
}

/// `PER_MINUTE/BURST` (or `PER_MINUTE` alone, with a burst of a tenth of it); `0` is no limit.
pub fn parse_rate(raw: &str) -> Result<Rate, String> {
    let bad = || format!("{raw:?} is not PER_MINUTE/BURST (for example 1200/100, or 0 for no limit)");
    let (per_minute, burst) = match raw.trim().split_once('/') {
        Some((p, b)) => {
            (p.trim().parse::<u32>().map_err(|_| bad())?, Some(b.trim().parse::<u32>().map_err(|_| bad())?))
        }
        None => (raw.trim().parse::<u32>().map_err(|_| bad())?, None),
    };
    if per_minute == 0 {
        return Ok(Rate::OFF);
    }
    let burst = burst.unwrap_or((per_minute / 10).max(1));
    if burst == 0 {
        return Err(format!("{raw:?}: the burst must be at least 1"));
    }
    Ok(Rate { per_minute, burst })
}

/// The TOML file's shape: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub blob_store: Option<String>,
    pub publisher_token: Option<String>,
    pub base_url: Option<String>,
    pub secret_key: Option<String>,
    pub allow_insecure_webhooks: Option<bool>,
    pub operator_webhook_url: Option<String>,
    pub operator_webhook_secret: Option<String>,
    pub header_read_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub max_connections: Option<u64>,
    pub rate_limit_per_token: Option<String>,
    pub rate_limit_per_address: Option<String>,
    pub rate_limit_per_link: Option<String>,
    pub rate_limit_link_downloads_per_address: Option<String>,
}

/// The settings in force, after options, environment, file and defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub blob_store: BlobLocation,
    pub publisher_token: Option<String>,
    pub base_url: String,
    pub secret_key: Option<String>,
    pub allow_insecure_webhooks: bool,
    /// The operator webhook's URL and secret.
    pub operator_webhook: Option<(String, String)>,
    pub limits: ServerLimits,
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
        let limits = limits(serve.map(|s| &s.limits), &file)?;
        let listen = serve.and_then(|s| s.listen.clone()).or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.into());
        let base_url = serve
            .and_then(|s| s.base_url.clone())
            .or(file.base_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        let data_dir = store.data_dir.clone().or(file.data_dir).unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        let blob_store = match (&store.blob_store, &file.blob_store) {
            (Some(location), _) => location.clone(),
            (None, Some(raw)) => BlobLocation::parse(raw).map_err(|e| anyhow::anyhow!("blob_store: {e}"))?,
            (None, None) => BlobLocation::File(data_dir.join("blobs")),
        };
        let url = serve.and_then(|s| s.operator_webhook_url.clone()).or(file.operator_webhook_url);
        let secret = serve.and_then(|s| s.operator_webhook_secret.clone()).or(file.operator_webhook_secret);
        let operator_webhook = match (url, secret) {
            (Some(url), Some(secret)) => Some((url, secret)),
            (None, None) => None,
            _ => anyhow::bail!("operator_webhook_url and operator_webhook_secret go together"),
        };
        Ok(Settings {
            limits,
            database_url: store
                .database_url
                .clone()
                .or(file.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            data_dir,
            blob_store,
            publisher_token: serve.and_then(|s| s.publisher_token.clone()).or(file.publisher_token),
            secret_key: store.secret_key.clone().or(file.secret_key),
            allow_insecure_webhooks: serve.is_some_and(|s| s.allow_insecure_webhooks)
                || file.allow_insecure_webhooks.unwrap_or(false),
            operator_webhook,
            listen,
            base_url,
        })
    }

    /// The database URL with any password hidden, for logs.
    pub fn redacted_database_url(&self) -> String {
        redact(&self.database_url)
    }
}

/// Connection and rate limits: options and environment, then the file, then the defaults.
pub fn limits(serve: Option<&LimitOptions>, file: &FileConfig) -> anyhow::Result<ServerLimits> {
    let defaults = ServerLimits::default();
    let secs = |option: Option<u64>, key: Option<u64>, default: Duration, name: &str| -> anyhow::Result<Duration> {
        match option.or(key) {
            None => Ok(default),
            Some(0) => anyhow::bail!("{name} must be at least 1 second"),
            Some(n) => Ok(Duration::from_secs(n)),
        }
    };
    let rate = |option: Option<Rate>, key: &Option<String>, default: Rate, name: &str| -> anyhow::Result<Rate> {
        match (option, key) {
            (Some(r), _) => Ok(r),
            (None, Some(raw)) => parse_rate(raw).map_err(|e| anyhow::anyhow!("{name}: {e}")),
            (None, None) => Ok(default),
        }
    };
    let max_connections = match serve.and_then(|s| s.max_connections).or(file.max_connections) {
        None => defaults.connections.max_connections,
        Some(0) => anyhow::bail!("max_connections must be at least 1"),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    Ok(ServerLimits {
        connections: ConnectionLimits {
            header_read_timeout: secs(
                serve.and_then(|s| s.header_read_timeout_secs),
                file.header_read_timeout_secs,
                defaults.connections.header_read_timeout,
                "header_read_timeout_secs",
            )?,
            idle_timeout: secs(
                serve.and_then(|s| s.idle_timeout_secs),
                file.idle_timeout_secs,
                defaults.connections.idle_timeout,
                "idle_timeout_secs",
            )?,
            max_connections,
        },
        rates: RateLimits {
            per_token: rate(
                serve.and_then(|s| s.rate_limit_per_token),
                &file.rate_limit_per_token,
                defaults.rates.per_token,
                "rate_limit_per_token",
            )?,
            per_address: rate(
                serve.and_then(|s| s.rate_limit_per_address),
                &file.rate_limit_per_address,
                defaults.rates.per_address,
                "rate_limit_per_address",
            )?,
            per_link: rate(
                serve.and_then(|s| s.rate_limit_per_link),
                &file.rate_limit_per_link,
                defaults.rates.per_link,
                "rate_limit_per_link",
            )?,
            link_downloads_per_address: rate(
                serve.and_then(|s| s.rate_limit_link_downloads_per_address),
                &file.rate_limit_link_downloads_per_address,
                defaults.rates.link_downloads_per_address,
                "rate_limit_link_downloads_per_address",
            )?,
        },
    })
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

# Folder for the secret key file and, unless blob_store says otherwise, uploaded files (PARTNERHUB_DATA_DIR).
data_dir = "./partnerhub-data"

# Where uploaded files (artifacts, attachments) live (PARTNERHUB_BLOB_STORE): file://PATH, or s3://BUCKET[/PREFIX]
# on S3 or an S3-compatible service, configured by the environment as AWS's tools are: AWS_ENDPOINT_URL (unset for
# AWS itself), AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (unset: the instance's role), AWS_ALLOW_HTTP=true
# for an endpoint without TLS. Several servers must share one bucket. Default: file://<data_dir>/blobs.
# blob_store = "s3://partnerhub-files/production"

# The publisher's API token for /v1/publisher/... (PARTNERHUB_PUBLISHER_TOKEN). Prefer the environment variable.
# publisher_token = "change-me"

# Public base URL for links (PARTNERHUB_BASE_URL).
# base_url = "https://partnerhub.example.com"

# Base64 of 32 random bytes sealing secrets at rest (PARTNERHUB_SECRET_KEY); default: <data_dir>/secret.key.
# secret_key = "..."

# Accept http:// webhook endpoints on this machine, and https:// ones at private addresses
# (PARTNERHUB_ALLOW_INSECURE_WEBHOOKS). For tests and local development only.
# allow_insecure_webhooks = false

# The operator's webhook: each key_stock_low record (a SKU's key stock at or below its threshold) is POSTed here,
# signed with the secret as partner webhooks are (PARTNERHUB_OPERATOR_WEBHOOK_URL, PARTNERHUB_OPERATOR_WEBHOOK_SECRET).
# operator_webhook_url = "https://ops.example.com/partnerhub"
# operator_webhook_secret = "..."

# Slow and silent clients: seconds to send a request's head once the server reads it, seconds a connection may stay
# without a byte moving, and connections served at once (PARTNERHUB_HEADER_READ_TIMEOUT_SECS,
# PARTNERHUB_IDLE_TIMEOUT_SECS, PARTNERHUB_MAX_CONNECTIONS).
# header_read_timeout_secs = 10
# idle_timeout_secs = 60
# max_connections = 1024

# Rate limits as "PER_MINUTE/BURST", "0" for none; a refused request gets 429 rate_limited with Retry-After. Counted
# per server process. Behind a reverse proxy every client has the proxy's address: limit there, and set the
# per-address limits here to "0" (PARTNERHUB_RATE_LIMIT_*).
# rate_limit_per_token = "1200/100"
# rate_limit_per_address = "3000/200"
# rate_limit_per_link = "60/20"
# rate_limit_link_downloads_per_address = "120/30"
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
        let uncommented: String = EXAMPLE
            .lines()
            .map(|l| l.strip_prefix("# ").filter(|l| l.contains(" = ")).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: FileConfig = toml::from_str(&uncommented).unwrap();
        assert_eq!(limits(None, &parsed).unwrap(), ServerLimits::default(), "the example shows the defaults");
    }

    #[test]
    fn the_blob_store_is_a_url_and_defaults_to_the_data_folder() {
        let options = |blob_store: Option<&str>, config: Option<PathBuf>| StoreOptions {
            database_url: None,
            data_dir: Some("/srv/ph".into()),
            blob_store: blob_store.map(|u| BlobLocation::parse(u).unwrap()),
            secret_key: None,
            config,
        };
        let resolved = Settings::resolve(&options(None, None), None).unwrap();
        assert_eq!(resolved.blob_store, BlobLocation::File("/srv/ph/blobs".into()));
        let resolved = Settings::resolve(&options(Some("s3://files/ph/"), None), None).unwrap();
        assert_eq!(resolved.blob_store, BlobLocation::S3 { bucket: "files".into(), prefix: Some("ph".into()) });
        assert_eq!(resolved.blob_store.to_string(), "s3://files/ph");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("partnerhub.toml");
        std::fs::write(&file, "blob_store = \"s3://from-the-file\"").unwrap();
        let from_file = Settings::resolve(&options(None, Some(file.clone())), None).unwrap();
        assert_eq!(from_file.blob_store, BlobLocation::S3 { bucket: "from-the-file".into(), prefix: None });
        let option_wins = Settings::resolve(&options(Some("file://./x"), Some(file.clone())), None).unwrap();
        assert_eq!(option_wins.blob_store, BlobLocation::File("./x".into()));
        std::fs::write(&file, "blob_store = \"ftp://x\"").unwrap();
        assert!(Settings::resolve(&options(None, Some(file)), None).is_err());
        for bad in ["", "file://", "s3://", "s3://A_B", "s3://ok-bucket/a//b", "/var/blobs", "http://x"] {
            assert!(BlobLocation::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_parse_with_a_burst_or_a_tenth() {
        assert_eq!(parse_rate("1200/100"), Ok(Rate { per_minute: 1200, burst: 100 }));
        assert_eq!(parse_rate(" 600 "), Ok(Rate { per_minute: 600, burst: 60 }));
        assert_eq!(parse_rate("5"), Ok(Rate { per_minute: 5, burst: 1 }));
        assert_eq!(parse_rate("0"), Ok(Rate::OFF));
        for bad in ["", "abc", "-1", "10/0", "10/x", "1/2/3"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }
}
