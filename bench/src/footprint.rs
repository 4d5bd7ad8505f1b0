//! `footprint`: spawns the server on an existing database and measures the time from spawn to the first `200` from
//! `/readyz` (polled every 2 ms over a fresh TCP connection), then its VmRSS after `idle_s` idle seconds.
//! `wait-ready`: waits until a URL answers 200 (for the script).

use crate::util::{emit, kib_to_mib, proc_status_kib, r3};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn answers_200(addr: &str, path: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    let mut got = 0;
    while got < buf.len() {
        match s.read(&mut buf[got..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got += n,
        }
    }
    &buf[9..12] == b"200"
}

pub fn footprint(listen: &str, idle_s: u64, command: &[String]) -> anyhow::Result<()> {
    anyhow::ensure!(!command.is_empty(), "give the server command after --");
    let t0 = Instant::now();
    let mut child = std::process::Command::new(&command[0]).args(&command[1..]).spawn()?;
    let pid = child.id();
    let ready = loop {
        if answers_200(listen, "/readyz") {
            break t0.elapsed();
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the server exited with {status} before it was ready");
        }
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            anyhow::bail!("the server was not ready within 60 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    std::thread::sleep(Duration::from_secs(idle_s));
    let rss = proc_status_kib(pid, "VmRSS");
    let _ = child.kill();
    let _ = child.wait();
    let rss = rss?;
    emit(&serde_json::json!({"kind": "footprint", "ready_ms": r3(ready.as_secs_f64() * 1000.0),
        "idle_rss_mib": kib_to_mib(rss), "idle_s": idle_s}));
    Ok(())
}

pub fn wait_ready(addr: &str, path: &str, timeout_s: u64) -> anyhow::Result<()> {
    let t0 = Instant::now();
    while !answers_200(addr, path) {
        anyhow::ensure!(
            t0.elapsed() < Duration::from_secs(timeout_s),
            "{addr}{path} did not answer 200 within {timeout_s} s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
