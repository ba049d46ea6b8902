//! `waooaw serve` refuses a setting it cannot use, naming it (and the file's line), before it
//! opens a store.

use std::process::Command;

/// Runs `waooaw serve` with the config file text and extra flags; returns (success, stderr,
/// whether a store was created).
fn serve(config: &str, flags: &[&str]) -> (bool, String, bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("waooaw.toml");
    std::fs::write(&path, config).expect("write config");
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_waooaw"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .arg("--data-dir")
        .arg(&data)
        .args(flags)
        .env("WAOOAW_LOG", "error")
        .env_remove("WAOOAW_DATABASE_URL")
        .env_remove("WAOOAW_REDIS_URL")
        .env_remove("WAOOAW_WAKE_CONCURRENCY")
        .output()
        .expect("run waooaw serve");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned(), data.join("waooaw.db").exists())
}

#[test]
fn no_wake_slots_at_all_is_refused_in_the_file_and_on_the_command_line() {
    let (ok, stderr, store_created) = serve("body_limit = 4096\nwake_concurrency = 0\n", &[]);
    assert!(!ok, "serve started with no wake slots");
    assert!(stderr.contains("waooaw.toml:2") && stderr.contains("nonzero"), "{stderr}");
    assert!(!store_created, "checked before the store is opened");

    let (ok, stderr, store_created) = serve("", &["--wake-concurrency", "0"]);
    assert!(!ok, "serve started with no wake slots");
    assert!(stderr.contains("--wake-concurrency"), "{stderr}");
    assert!(!store_created);

    let (ok, stderr, _) = serve("wake_concurrency = \"many\"\n", &[]);
    assert!(!ok);
    assert!(stderr.contains("waooaw.toml:1"), "{stderr}");
}
