//! `waooaw serve` refuses a setting it cannot use before it opens a store: a misconfigured
//! `[llm]` chain, naming the entry at fault; a setting out of range, naming it (and the file's
//! line).

use std::process::Command;

const PRIMARY: &str = r#"
[llm]
provider = "openai"
base_url = "http://127.0.0.1:11434/v1"
model = "llama3.2"
[llm.prices."llama3.2"]
input_usd_per_mtok = 0.0
output_usd_per_mtok = 0.0
"#;

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
        .env_remove("TEST_UNSET_ANTHROPIC_KEY")
        .output()
        .expect("run waooaw serve");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned(), data.join("waooaw.db").exists())
}

#[test]
fn a_misconfigured_chain_stops_serve_with_the_entry_named() {
    let cases = [
        (
            "[[llm.fallback]]\nprovider = \"anthropic\"\nmodel = \"claude-3-5-haiku-20241022\"\napi_key_env = \"TEST_UNSET_ANTHROPIC_KEY\"\n",
            "[[llm.fallback]] #1 (anthropic claude-3-5-haiku-20241022): environment variable TEST_UNSET_ANTHROPIC_KEY (api_key_env) is not set",
        ),
        (
            "[[llm.fallback]]\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\nbase_url = \"api.openai.com/v1\"\n",
            "[[llm.fallback]] #1 (openai gpt-4o-mini): invalid base_url \"api.openai.com/v1\"",
        ),
        (
            "[[llm.fallback]]\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\n",
            "[[llm.fallback]] #1 (openai gpt-4o-mini): no price for model \"gpt-4o-mini\"",
        ),
        ("[[llm.fallback]]\nprovider = \"gemini\"\nmodel = \"gemini-2.0-flash\"\n", "waooaw.toml:10: unknown variant `gemini`"),
        ("[llm.retry]\nmax_attempts = 0\n", "waooaw.toml:9: max_attempts must be between 1 and 10"),
    ];
    for (fallback, expected) in cases {
        let (ok, stderr, store_created) = serve(&format!("{PRIMARY}{fallback}"), &[]);
        assert!(!ok, "serve started with {fallback:?}");
        assert!(stderr.contains("[llm] configuration") || stderr.contains("waooaw.toml:"), "{stderr}");
        assert_eq!(stderr.matches(expected).count(), 1, "expected {expected:?} once in {stderr}");
        assert!(!store_created, "the chain is checked before the store is opened");
    }
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
