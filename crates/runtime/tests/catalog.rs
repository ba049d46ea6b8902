//! The catalog folder: a bad file stops the load with its file, line and reason. (The
//! repository's own catalog is loaded by `waooaw-agents`' tests, which know every work function.)

use std::path::Path;
use waooaw_runtime::{Catalog, CatalogError};

const WORK: &[&str] = &["wowvision.watch"];

fn repo_catalog() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog")
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write spec");
}

#[test]
fn a_bad_spec_names_its_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read_to_string(repo_catalog().join("wowvision-prime.toml")).expect("read");
    write(dir.path(), "a-good.toml", &good);
    let bad =
        good.replace("id = \"wowvision-prime\"", "id = \"second\"").replace("subscriptions = [\"file.*\"", "subscriptions = [\"file.**\"");
    write(dir.path(), "b-bad.toml", &bad);
    let err = Catalog::load_dir(dir.path(), WORK).expect_err("bad pattern");
    let line = bad.lines().position(|l| l.contains("file.**")).expect("line") + 1;
    let CatalogError::Spec(e) = &err else { panic!("expected a spec error, got {err}") };
    assert!(e.file.ends_with("b-bad.toml"), "{err}");
    assert_eq!(e.line, line, "{err}");
    assert!(err.to_string().contains("file.**"), "{err}");
}

#[test]
fn duplicate_ids_unknown_work_and_empty_folders_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(Catalog::load_dir(dir.path(), WORK), Err(CatalogError::Empty(_))));
    let good = std::fs::read_to_string(repo_catalog().join("wowvision-prime.toml")).expect("read");
    write(dir.path(), "one.toml", &good);
    write(dir.path(), "two.toml", &good);
    let err = Catalog::load_dir(dir.path(), WORK).expect_err("duplicate");
    assert!(err.to_string().contains("already defined"), "{err}");
    std::fs::remove_file(dir.path().join("two.toml")).expect("rm");
    let err = Catalog::load_dir(dir.path(), &["other.work"]).expect_err("unknown work");
    assert!(err.to_string().contains("wowvision.watch"), "{err}");
    write(dir.path(), "three.toml", "id = \"x\"\nname = 3\n");
    let err = Catalog::load_dir(dir.path(), WORK).expect_err("type error");
    assert!(err.to_string().contains("three.toml:2:"), "{err}");
    assert!(matches!(Catalog::load_dir(&dir.path().join("missing"), WORK), Err(CatalogError::Io { .. })));
}
