//! The Grafana dashboard and the Prometheus alert rules in `ops/` only name metrics the code
//! emits: a renamed metric breaks this test, not a dashboard at 3 a.m.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") && path.components().any(|c| c.as_os_str() == "src") {
            out.push(path);
        }
    }
}

/// Every `waooaw_...` name in `text`, without the suffixes Prometheus adds to histograms.
fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("waooaw_") {
        let tail = &rest[i..];
        let end = tail.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')).unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
        names.push(base.to_owned());
        rest = &tail[end..];
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_dashboard_and_alerts_name_only_metrics_the_code_emits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    sources(&root.join("crates"), &mut files);
    let code: String = files.iter().map(|f| std::fs::read_to_string(f).expect("source")).collect();
    for ops in ["ops/grafana/waooaw-dashboard.json", "ops/prometheus/waooaw-alerts.yml"] {
        let text = std::fs::read_to_string(root.join(ops)).expect("ops file");
        let names = metric_names(&text);
        assert!(names.len() >= 5, "{ops}: {names:?}");
        for name in names {
            assert!(code.contains(&format!("\"{name}\"")), "{ops} names `{name}`, which no crate emits");
        }
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("ops/grafana/waooaw-dashboard.json")).expect("dashboard")).expect("JSON");
    let titles: Vec<&str> = dashboard["panels"].as_array().expect("panels").iter().filter_map(|p| p["title"].as_str()).collect();
    assert!(titles.iter().any(|t| t.starts_with("Circuit breakers")), "{titles:?}");
}
