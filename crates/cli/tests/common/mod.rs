//! The `waooaw` binary as a child process, for the whole-process tests.
#![allow(dead_code)] // each test binary uses part of it

use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-admin-token";

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(data_dir: &Path, extra: &[(&str, &str)]) -> Self {
        Self::start_command("serve", data_dir, extra)
    }

    pub fn start_command(command: &str, data_dir: &Path, extra: &[(&str, &str)]) -> Self {
        Self::start_logged(command, data_dir, extra, None)
    }

    /// As `start_command`, with the process's stdout and stderr written to `log` when given.
    pub fn start_logged(command: &str, data_dir: &Path, extra: &[(&str, &str)], log: Option<&Path>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_waooaw"));
        cmd.arg(command)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--catalog")
            .arg(catalog)
            .env("WAOOAW_ADMIN_TOKEN", TOKEN)
            .env("WAOOAW_LOG", "warn")
            .env_remove("WAOOAW_DATABASE_URL")
            .env_remove("WAOOAW_REDIS_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(path) = log {
            let file = std::fs::File::create(path).expect("log file");
            cmd.stdout(file.try_clone().expect("log file")).stderr(file);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        Self { child: cmd.spawn().expect("spawn waooaw serve"), base: format!("http://127.0.0.1:{port}") }
    }

    pub async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}/readyz", self.base)).await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server at {} did not become ready", self.base);
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = reqwest::Client::new().request(method, format!("{}{path}", self.base)).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!(status < 300, "POST {path}: {status} {v}");
        v
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, v) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
