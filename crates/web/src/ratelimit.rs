//! Rate limits (SPEC §5: 429 `rate_limited` with `Retry-After`), enforced before authentication or any body is
//! read: per API token and per client address on every route, and for download links per link and per address, so
//! a leaked link cannot be used to flood the server. The counters live in this process: several servers behind a
//! load balancer each enforce the limits on what reaches them.

use crate::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::rate::{admit, is_idle, Rate};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The limits in force; a rate with `per_minute == 0` is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per API token (the bearer presented, valid or not).
    pub per_token: Rate,
    /// Requests per client address (IPv6: per /64), links excepted.
    pub per_address: Rate,
    /// Requests to one download link.
    pub per_link: Rate,
    /// Requests to download links from one client address.
    pub link_downloads_per_address: Rate,
}

impl Default for RateLimits {
    /// Generous for people and integrations, tight for a flood: 20 requests a second per token (100 at once),
    /// 50 a second per address (200 at once), and for links 1 a second per link (20 at once, several times a
    /// link's 50 counted downloads with resumed `Range` requests) and 2 a second per address (30 at once).
    fn default() -> Self {
        RateLimits {
            per_token: Rate { per_minute: 1200, burst: 100 },
            per_address: Rate { per_minute: 3000, burst: 200 },
            per_link: Rate { per_minute: 60, burst: 20 },
            link_downloads_per_address: Rate { per_minute: 120, burst: 30 },
        }
    }
}

impl RateLimits {
    pub const OFF: RateLimits = RateLimits {
        per_token: Rate::OFF,
        per_address: Rate::OFF,
        per_link: Rate::OFF,
        link_downloads_per_address: Rate::OFF,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// A keyed hash of the bearer token (the map never holds a token).
    Token(u64),
    Address(IpAddr),
    Link(u64),
    LinkAddress(IpAddr),
}

const SHARDS: usize = 16;
/// A shard that grows past this many keys forgets those whose bucket is full again.
const SWEEP_AT: usize = 4096;

/// The counters of one process.
pub struct Limiter {
    limits: RateLimits,
    shards: Vec<Mutex<HashMap<Key, i64>>>,
    hasher: std::collections::hash_map::RandomState,
    epoch: Instant,
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Arc<Limiter> {
        Arc::new(Limiter {
            limits,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: Default::default(),
            epoch: Instant::now(),
        })
    }

    /// Admits a request for `key` at `rate`, or says in how many seconds one would be admitted.
    fn check(&self, key: Key, rate: Rate) -> Result<(), u64> {
        if rate.is_off() {
            return Ok(());
        }
        let now = self.epoch.elapsed().as_micros() as i64;
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        match admit(map.get(&key).copied(), now, rate) {
            Ok(tat) => {
                map.insert(key, tat);
                if map.len() > SWEEP_AT {
                    map.retain(|_, tat| !is_idle(*tat, now));
                }
                Ok(())
            }
            // Whole seconds, rounded up: a client that waits `Retry-After` is admitted.
            Err(wait) => Err((wait as u64).div_ceil(1_000_000).max(1)),
        }
    }
}

/// IPv6 clients get a /64 each (one host commonly holds a whole /64); IPv4-mapped addresses count as IPv4.
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// The middleware: health probes and metrics are never limited (monitoring must see an overloaded server).
pub async fn enforce(State(limiter): State<Arc<Limiter>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next.run(req).await;
    }
    let address = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| client(c.0.ip()));
    let limits = limiter.limits;
    let mut checks: Vec<(Key, Rate)> = Vec::with_capacity(2);
    if let Some(token) = path.strip_prefix("/download/") {
        checks.push((Key::Link(limiter.hasher.hash_one(token)), limits.per_link));
        if let Some(ip) = address {
            checks.push((Key::LinkAddress(ip), limits.link_downloads_per_address));
        }
    } else {
        if let Some(ip) = address {
            checks.push((Key::Address(ip), limits.per_address));
        }
        let bearer = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = bearer {
            checks.push((Key::Token(limiter.hasher.hash_one(token)), limits.per_token));
        }
    }
    for (key, rate) in checks {
        if let Err(retry_after_secs) = limiter.check(key, rate) {
            tracing::info!(?key, retry_after_secs, "rate limited");
            return ApiError::from(domain::DomainError::RateLimited { retry_after_secs }).into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_its_64_and_a_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(client(a), client(b));
        assert_ne!(client(a), client("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(client("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn keys_are_counted_apart_and_a_refusal_says_when_to_come_back() {
        let limiter = Limiter::new(RateLimits::default());
        let rate = Rate { per_minute: 60, burst: 2 };
        let (one, two) = (Key::Token(1), Key::Token(2));
        assert!(limiter.check(one, rate).is_ok() && limiter.check(one, rate).is_ok());
        assert_eq!(limiter.check(one, rate), Err(1));
        assert!(limiter.check(two, rate).is_ok(), "another key has its own bucket");
        assert!(limiter.check(one, Rate::OFF).is_ok(), "no limit");
    }
}
