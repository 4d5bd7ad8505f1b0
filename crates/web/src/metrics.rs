//! `/metrics`: Prometheus text exposition of this process's request counts and latencies, by route and status.
//! Kept in the process on purpose: Prometheus scrapes every server process and sums them.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut map = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.entry((method.to_string(), route.to_string(), status)).or_default();
        s.count += 1;
        s.sum_seconds += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        let map = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP partnerhub_http_requests_total HTTP requests answered, by method, route and status.\n");
        out.push_str("# TYPE partnerhub_http_requests_total counter\n");
        for ((m, r, st), s) in map.iter() {
            let _ = writeln!(
                out,
                "partnerhub_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{st}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP partnerhub_http_request_duration_seconds Time to answer HTTP requests.\n");
        out.push_str("# TYPE partnerhub_http_request_duration_seconds histogram\n");
        for ((m, r, st), s) in map.iter() {
            let labels = format!("method=\"{m}\",route=\"{r}\",status=\"{st}\"");
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "partnerhub_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ =
                writeln!(out, "partnerhub_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "partnerhub_http_request_duration_seconds_sum{{{labels}}} {}", s.sum_seconds);
            let _ = writeln!(out, "partnerhub_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        out
    }
}

/// The method's label: the standard methods by name, anything else (clients may send any token) as `other`, so
/// that a client cannot grow the exposition with made-up methods.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Records every request under its route template (never the raw path, which would hold ids and tokens); a path
/// no route matches is `unmatched`. Every label comes from a fixed set, so the number of series is bounded.
pub async fn record(metrics: std::sync::Arc<Metrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    metrics.observe(method, &route, res.status().as_u16(), started.elapsed().as_secs_f64());
    res
}

/// SQLite's group commit, as counters: batches committed and the writes committed in them (their ratio is the
/// writes per `fsync`). Only on SQLite.
pub fn render_write_batches(batches: u64, writes: u64) -> String {
    format!(
        "# HELP partnerhub_sqlite_write_batches_total Transactions committed by SQLite's group-commit writer.\n\
         # TYPE partnerhub_sqlite_write_batches_total counter\n\
         partnerhub_sqlite_write_batches_total {batches}\n\
         # HELP partnerhub_sqlite_writes_total Writes committed in those transactions (each in its own savepoint).\n\
         # TYPE partnerhub_sqlite_writes_total counter\n\
         partnerhub_sqlite_writes_total {writes}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.observe("GET", "/v1/customers", 200, 0.003);
        m.observe("GET", "/v1/customers", 200, 2.0);
        let text = m.render();
        assert!(
            text.contains("partnerhub_http_requests_total{method=\"GET\",route=\"/v1/customers\",status=\"200\"} 2")
        );
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }

    #[test]
    fn unknown_methods_share_one_label() {
        for m in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            assert_eq!(method_label(&m.parse().unwrap()), m);
        }
        for m in ["FOO", "BREW", "TRACE", "CONNECT", "get"] {
            assert_eq!(method_label(&m.parse().unwrap()), "other", "{m}");
        }
    }
}
