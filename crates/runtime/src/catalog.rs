//! The catalog: every specialization, loaded from the TOML spec files of a folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use waooaw_domain::{SpecError, Specialization};

/// The repository's own catalog, compiled in so `waooaw serve` works from any directory.
const EMBEDDED: &[(&str, &str)] = &[("catalog/wowvision-prime.toml", include_str!("../../../catalog/wowvision-prime.toml"))];

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read catalog {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{file}: specialization id `{id}` is already defined in {first}")]
    Duplicate { file: String, id: String, first: String },
    #[error("catalog {0} holds no spec files (*.toml)")]
    Empty(PathBuf),
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    specs: BTreeMap<String, (Arc<Specialization>, String)>,
}

impl Catalog {
    /// Loads every `*.toml` in `dir`, in name order. The first bad file stops the load.
    pub fn load_dir(dir: &Path, known_work: &[&str]) -> Result<Self, CatalogError> {
        let io = |source| CatalogError::Io { path: dir.to_owned(), source };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(CatalogError::Empty(dir.to_owned()));
        }
        let mut texts = Vec::with_capacity(files.len());
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|source| CatalogError::Io { path: f.clone(), source })?;
            texts.push((f.display().to_string(), text));
        }
        Self::from_texts(texts.iter().map(|(f, t)| (f.as_str(), t.as_str())), known_work)
    }

    /// The catalog compiled into the binary.
    pub fn embedded(known_work: &[&str]) -> Result<Self, CatalogError> {
        Self::from_texts(EMBEDDED.iter().copied(), known_work)
    }

    pub fn from_texts<'a>(files: impl Iterator<Item = (&'a str, &'a str)>, known_work: &[&str]) -> Result<Self, CatalogError> {
        let mut specs = BTreeMap::new();
        for (file, text) in files {
            let spec = Specialization::from_toml(file, text, known_work)?;
            if let Some((_, first)) = specs.get(&spec.id) {
                return Err(CatalogError::Duplicate { file: file.to_owned(), id: spec.id.clone(), first: String::clone(first) });
            }
            specs.insert(spec.id.clone(), (Arc::new(spec), file.to_owned()));
        }
        Ok(Self { specs })
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Specialization>> {
        self.specs.get(id).map(|(s, _)| s)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Specialization>> {
        self.specs.values().map(|(s, _)| s)
    }

    pub fn len(&self) -> usize {
        self.specs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// Adds a spec (tests and benchmarks build catalogs in code).
    pub fn insert(&mut self, spec: Specialization) {
        self.specs.insert(spec.id.clone(), (Arc::new(spec), "<code>".into()));
    }
}
