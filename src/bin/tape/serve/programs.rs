//! The programs a server runs: a directory's, compiled at start, and
//! source sent in requests, compiled once and kept by the hash of its
//! text.
//!
//! Each program's grants and limits are those `tape run` would give it:
//! its manifest with the flags over it, built by the same functions
//! (`GrantOpts::grants_logging_to`, `Manifest::limits`, `LimitOpts::apply`);
//! only its log goes to the request instead of standard error. Source
//! gets what a program without a manifest gets (or `--manifest`'s).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};
use tape_caps::Manifest;
use tape_rt::{Config, Engine, Grants, Limits, Pooling, Program};

use crate::failure::Failure;
use crate::grants::GrantOpts;
use crate::input::{Input, SourceOpts};
use crate::limits::LimitOpts;
use crate::output::Styles;

use super::tap;

/// The name source from a request compiles under, as diagnostics show it.
pub const SOURCE_FILE: &str = "source.wat";
/// Source's name in the metrics and the answer's `program`.
pub const SOURCE_PROGRAM: &str = "source";

/// A program ready to run.
#[derive(Debug)]
pub struct Served {
    /// What a request names it by (`source` for source).
    pub name: String,
    /// Its file, relative to the directory served: the name diagnostics
    /// and reasons give.
    pub file: String,
    /// Its manifest, relative to the directory served.
    pub manifest: Option<String>,
    pub program: Program,
    /// The most a run may have; a request may ask for less.
    pub limits: Limits,
    /// The source text, to show the line of a failing call.
    pub source: Option<String>,
}

/// How the server was asked to load and run programs.
pub struct Settings<'a> {
    pub limits: &'a LimitOpts,
    pub source: &'a SourceOpts,
    pub grants: &'a GrantOpts,
    pub concurrency: usize,
    pub allow_source: bool,
    pub source_cache: usize,
    pub styles: Styles,
}

#[derive(Debug)]
pub struct Programs {
    by_name: BTreeMap<String, Arc<Served>>,
    /// With `--allow-source`: what source gets.
    sources: Option<Sources>,
}

#[derive(Debug)]
struct Sources {
    engine: Engine,
    grants: Grants,
    limits: Limits,
    capacity: usize,
    cache: Mutex<Cache>,
}

/// Compiled sources by hash, the least recently used leaving first.
#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<[u8; 32], (Arc<Served>, u64)>,
    clock: u64,
}

/// A program found in the directory, before it is compiled.
struct Found {
    name: String,
    path: PathBuf,
    /// Relative to the directory.
    file: String,
    manifest: Option<Manifest>,
    /// The manifest's path, relative to the directory.
    manifest_file: Option<String>,
    limits: Limits,
}

impl Programs {
    /// Every program in `dir`, compiled; the first that does not compile
    /// (or whose manifest is wrong) is the error.
    pub fn load(dir: Option<&Path>, settings: &Settings<'_>) -> Result<Programs, Failure> {
        let found = match dir {
            Some(dir) => find(dir, settings)?,
            None => Vec::new(),
        };
        if found.is_empty() && !settings.allow_source {
            let dir = dir.map(|d| d.display().to_string()).unwrap_or_default();
            return Err(Failure::usage(format!("`{dir}` holds no program to serve"))
                .help("put each program in `NAME/NAME.wat` (with its tape.toml beside it) or `NAME.wat`; or serve source with --allow-source"));
        }
        // What source gets: `--manifest`'s, if given, and the flags.
        let source_manifest = settings.grants.manifest(Path::new("-"))?;
        let source_limits = settings.limits.apply(
            source_manifest
                .as_ref()
                .map_or_else(Limits::default, |m| m.limits(Limits::default())),
        );
        // One engine for all. Its pool has a slot per run at once, each as
        // large as the largest memory any program may have.
        let max_memory = found
            .iter()
            .map(|f| f.limits.max_memory)
            .chain([source_limits.max_memory])
            .max()
            .unwrap_or(source_limits.max_memory);
        let engine = Engine::new(Config {
            limits: Limits {
                max_memory,
                ..source_limits.clone()
            },
            compile_budget: settings.source.budget(source_limits.timeout),
            pooling: Some(Pooling {
                instances: u32::try_from(settings.concurrency).unwrap_or(u32::MAX),
            }),
            ..Config::default()
        })
        .map_err(|error| {
            Failure::from(error).help(format!(
                "each of the {} run slots (--concurrency) reserves 4 GiB of address space for \
                 up to {} of memory; lower --concurrency, or raise `ulimit -v`",
                settings.concurrency,
                crate::limits::show_size(max_memory)
            ))
        })?;
        let mut by_name = BTreeMap::new();
        for found in found {
            let served = compile(&engine, found, settings)?;
            by_name.insert(served.name.clone(), Arc::new(served));
        }
        let sources = match settings.allow_source {
            true => Some(Sources {
                grants: settings.grants.grants_logging_to(
                    source_manifest.as_ref(),
                    tap::sink(),
                    false,
                )?,
                engine,
                limits: source_limits,
                capacity: settings.source_cache.max(1),
                cache: Mutex::default(),
            }),
            false => None,
        };
        Ok(Programs { by_name, sources })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Served>> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Served>> {
        self.by_name.values()
    }

    pub fn allow_source(&self) -> bool {
        self.sources.is_some()
    }

    /// The compiled cache entry of `source`, if there is one.
    pub fn cached(&self, source: &str) -> Option<Arc<Served>> {
        let sources = self.sources.as_ref()?;
        let mut cache = sources.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.clock += 1;
        let clock = cache.clock;
        let (served, used) = cache.entries.get_mut(&hash(source))?;
        *used = clock;
        Some(served.clone())
    }

    /// `source` compiled, and kept. (Call only with `--allow-source`.)
    pub fn compile_source(&self, source: &str) -> Result<Arc<Served>, Failure> {
        let Some(sources) = &self.sources else {
            return Err(Failure::new(
                crate::failure::Kind::Internal,
                "source is not allowed",
            ));
        };
        let program = sources
            .engine
            .compile_str(SOURCE_FILE, source, &sources.grants)?;
        let served = Arc::new(Served {
            name: SOURCE_PROGRAM.to_string(),
            file: SOURCE_FILE.to_string(),
            manifest: None,
            program,
            limits: sources.limits.clone(),
            source: Some(source.to_string()),
        });
        let mut cache = sources.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.clock += 1;
        let clock = cache.clock;
        if cache.entries.len() >= sources.capacity {
            let oldest = cache.entries.iter().min_by_key(|(_, (_, used))| *used);
            if let Some(oldest) = oldest.map(|(key, _)| *key) {
                cache.entries.remove(&oldest);
            }
        }
        cache.entries.insert(hash(source), (served.clone(), clock));
        Ok(served)
    }
}

pub fn hash(source: &str) -> [u8; 32] {
    Sha256::digest(source.as_bytes()).into()
}

/// The programs in `dir`: `NAME/NAME.wat` (or `.wasm`) and `NAME.wat`
/// (or `.wasm`), each with the manifest `tape run` would read.
fn find(dir: &Path, settings: &Settings<'_>) -> Result<Vec<Found>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::io(format!(
            "cannot read the directory `{}`: {e}",
            dir.display()
        ))
    })?;
    let mut candidates: BTreeMap<String, Vec<(PathBuf, String)>> = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            Failure::io(format!(
                "cannot read the directory `{}`: {e}",
                dir.display()
            ))
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            for ext in ["wat", "wasm"] {
                let inner = path.join(format!("{name}.{ext}"));
                if inner.is_file() {
                    let file = format!("{name}/{name}.{ext}");
                    candidates
                        .entry(name.clone())
                        .or_default()
                        .push((inner, file));
                }
            }
        } else if let Some((stem, ext)) = name.rsplit_once('.')
            && matches!(ext, "wat" | "wasm")
        {
            candidates
                .entry(stem.to_string())
                .or_default()
                .push((path, name.clone()));
        }
    }
    let mut found = Vec::new();
    for (name, mut files) in candidates {
        if files.len() > 1 {
            let files: Vec<String> = files.iter().map(|(_, f)| format!("`{f}`")).collect();
            return Err(Failure::usage(format!(
                "`{}`: the program `{name}` is in {}",
                dir.display(),
                files.join(" and ")
            ))
            .help("keep one file per program name"));
        }
        let (path, file) = files.remove(0);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(Failure::usage(format!(
                "`{}`: the program name `{name}` may hold only letters, digits, `.`, `_` and `-`, to be a URL's path",
                path.display()
            )));
        }
        let manifest = settings.grants.manifest(&path)?;
        let limits = settings.limits.apply(
            manifest
                .as_ref()
                .map_or_else(Limits::default, |m| m.limits(Limits::default())),
        );
        let manifest_file = manifest.as_ref().map(|m| {
            let path = m.path();
            path.strip_prefix(dir).unwrap_or(path).display().to_string()
        });
        found.push(Found {
            name,
            path,
            file,
            manifest,
            manifest_file,
            limits,
        });
    }
    Ok(found)
}

fn compile(engine: &Engine, found: Found, settings: &Settings<'_>) -> Result<Served, Failure> {
    let input = Input::read_max(&found.path, settings.source.budget(None).max_source_bytes)?;
    let grants = settings
        .grants
        .grants_logging_to(found.manifest.as_ref(), tap::sink(), false)?;
    let lints = crate::lints::LintOpts::default().lints(found.manifest.as_ref())?;
    let (program, source) = if input.is_module() {
        (engine.load(&input.bytes, &grants)?, None)
    } else {
        let text = input.text()?;
        let program = engine.compile_str(&found.file, text, &grants)?;
        let warnings = tape_compiler::warnings(program.metadata(), &found.file, text, &lints);
        crate::lints::report(warnings, false, settings.styles)?;
        (program, Some(text.to_string()))
    };
    Ok(Served {
        name: found.name,
        file: found.file,
        manifest: found.manifest_file,
        program,
        limits: found.limits,
        source,
    })
}
