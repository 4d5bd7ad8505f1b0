//! The `partnerhub` binary itself: its help text, migrations, and serving until SIGTERM.

use crate::harness::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_partnerhub");

#[test]
fn help_documents_every_option_and_its_environment_variable() {
    let out = std::process::Command::new(BIN).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for (option, env) in [
        ("--listen", "PARTNERHUB_LISTEN"),
        ("--database-url", "PARTNERHUB_DATABASE_URL"),
        ("--data-dir", "PARTNERHUB_DATA_DIR"),
        ("--publisher-token", "PARTNERHUB_PUBLISHER_TOKEN"),
        ("--base-url", "PARTNERHUB_BASE_URL"),
        ("--secret-key", "PARTNERHUB_SECRET_KEY"),
        ("--config", "PARTNERHUB_CONFIG"),
    ] {
        assert!(help.contains(option) && help.contains(env), "{option} / {env} missing from:\n{help}");
    }
    let top = std::process::Command::new(BIN).arg("--help").output().unwrap();
    let top = String::from_utf8_lossy(&top.stdout);
    for command in ["serve", "demo", "migrate", "config", "audit"] {
        assert!(top.contains(command), "{command} missing from:\n{top}");
    }
    let example = std::process::Command::new(BIN).args(["config", "example"]).output().unwrap();
    assert!(String::from_utf8_lossy(&example.stdout).contains("database_url"));
}

crate::on_both_backends!(serve_migrates_answers_and_stops_gracefully_on_sigterm);

async fn serve_migrates_answers_and_stops_gracefully_on_sigterm(db: Db) {
    let test_db = TestDb::new(db).await;
    let data = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let migrate = tokio::process::Command::new(BIN)
        .args(["migrate", "--database-url", &test_db.url, "--data-dir"])
        .arg(data.path())
        .output()
        .await
        .unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let started = Instant::now();
    let mut child = tokio::process::Command::new(BIN)
        .args(["serve", "--database-url", &test_db.url, "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data.path())
        .env("PARTNERHUB_PUBLISHER_TOKEN", "cli-test-publisher-token")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    loop {
        if let Ok(r) = http.get(format!("{url}/readyz")).send().await {
            assert_eq!(r.status(), 200);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The publisher token from the environment works; the secret key file was made in the data folder.
    let partners =
        http.get(format!("{url}/v1/publisher/partners")).bearer_auth("cli-test-publisher-token").send().await.unwrap();
    assert_eq!(partners.status(), 200);
    assert!(data.path().join("secret.key").exists());
    let pid = child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("stops within 10 s").unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}
