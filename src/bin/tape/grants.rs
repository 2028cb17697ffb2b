//! Which capabilities a program is granted, from the `tape.toml` beside it
//! and the flags over it.
//!
//! `core` is always granted. `tape run` also grants what cannot reach
//! outside the run: `log` (to standard error), `json`, `time` and `rand`
//! ([`Manifest::grant_local`]). Everything that touches the host's data or
//! network — `kv`, `fs`, `http`, `ai` — needs a flag or a table in
//! `tape.toml`. A flag wins over the manifest for what it sets and keeps
//! the rest of the manifest's table (its limits); `--allow-http` adds to
//! the manifest's allow-list and `--http-ca` to its root certificates.
//!
//! The flags are laid over the manifest as data, and the grants are then
//! built by [`Manifest::grants`], the path every embedder takes too.

use std::path::{Path, PathBuf};

use tape_caps::{AiGrant, Http, Level, LogSink, Manifest, ManifestError};
use tape_compiler::Catalogue;
use tape_rt::Grants;

use crate::failure::Failure;
use crate::output::{ERROR, HELP, NOTE, Styles, WARNING, print_stderr};

/// Capabilities `tape run` grants with no flags: `core` and those
/// [`Manifest::grant_local`] grants.
pub const DEFAULT_GRANTS: &[&str] = &["core", "log", "json", "time", "rand"];

/// The grant flags of `tape run`.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Grants")]
pub struct GrantOpts {
    /// Read grants and limits from this manifest instead of the
    /// `tape.toml` beside FILE
    #[arg(long, value_name = "PATH", conflicts_with = "no_manifest")]
    manifest: Option<PathBuf>,
    /// Ignore the `tape.toml` beside FILE: grants come from flags only
    #[arg(long = "no-manifest")]
    no_manifest: bool,
    /// Grant `kv`, stored in this database file (created if missing), or on
    /// the Redis server at this URL (`redis://host:port/db`)
    #[arg(long, value_name = "PATH|URL")]
    kv: Option<PathBuf>,
    /// Grant `fs`, read-only, inside this directory
    #[arg(long, value_name = "PATH", conflicts_with = "dir_rw")]
    dir: Option<PathBuf>,
    /// Grant `fs`, read-write, inside this directory
    #[arg(long = "dir-rw", value_name = "PATH")]
    dir_rw: Option<PathBuf>,
    /// Grant `http` to this origin, e.g. `https://api.example.com` or
    /// `http://127.0.0.1:8080` (a bare host, with or without a port, means
    /// https); repeatable.
    /// A loopback or private IP is reached only on the scheme and port named
    #[arg(long = "allow-http", value_name = "ORIGIN")]
    allow_http: Vec<String>,
    /// Verify HTTPS servers against the certificate authorities in this PEM
    /// file (a private CA) instead of Mozilla's roots; repeatable, and adds
    /// to the manifest's `root-certificates`. Needs `http` granted
    #[arg(long = "http-ca", value_name = "PATH")]
    http_ca: Vec<PathBuf>,
    /// Grant `ai`: chat completions from this OpenAI-compatible endpoint,
    /// the part before `/chat/completions` (e.g. `https://api.openai.com/v1`)
    #[arg(long, value_name = "URL")]
    ai: Option<String>,
    /// The model `ai` asks
    #[arg(long = "ai-model", value_name = "NAME")]
    ai_model: Option<String>,
    /// The environment variable holding the `ai` endpoint's API key
    #[arg(long = "ai-key-env", value_name = "VAR")]
    ai_key_env: Option<String>,
    /// A fixed clock and a seeded random generator, so runs repeat exactly
    #[arg(long)]
    deterministic: bool,
}

impl GrantOpts {
    /// The manifest for the program at `file`: `--manifest`, else the
    /// `tape.toml` beside the file (none for standard input or with
    /// `--no-manifest`).
    pub fn manifest(&self, file: &Path) -> Result<Option<Manifest>, Failure> {
        let found = match &self.manifest {
            Some(path) => Manifest::load(path).map(Some),
            None if self.no_manifest || file == Path::new("-") => return Ok(None),
            None => Manifest::beside(file),
        };
        found.map_err(Failure::from)
    }

    /// The grants for a run: the local defaults, the manifest's tables, and
    /// the flags over them, built by [`Manifest::grants`]. Log messages go
    /// to standard error as `[level] message`.
    ///
    /// A flag or table whose value is wrong (a directory that does not
    /// exist, say) is a [`Failure`] here, naming it.
    pub fn grants(
        &self,
        manifest: Option<&Manifest>,
        styles: Styles,
        stdin: bool,
    ) -> Result<Grants, Failure> {
        let sink = LogSink::new(move |level: Level, message: &str| {
            print_log(styles, level, message);
        });
        self.grants_logging_to(manifest, sink, stdin)
    }

    /// As [`grants`](GrantOpts::grants), with log messages going to
    /// `sink` (`tape serve` hands each to the request whose run wrote it).
    pub fn grants_logging_to(
        &self,
        manifest: Option<&Manifest>,
        sink: LogSink,
        stdin: bool,
    ) -> Result<Grants, Failure> {
        let mut manifest = manifest.cloned().unwrap_or_default();
        manifest.deterministic |= self.deterministic;
        manifest.grant_local();
        // Standard input that is a pipe or a file, and not the program.
        if stdin {
            manifest.stdin.get_or_insert_default();
        }
        if let Some(log) = &mut manifest.log {
            log.sink = Some(sink);
        }
        // Which tables the flags set, to name the flag when one is wrong.
        let mut flag_set: Vec<(&'static str, String, &'static str)> = Vec::new();

        if let Some(path) = &self.kv {
            let kv = manifest.kv.get_or_insert_default();
            // A Redis URL, or a file: the flag replaces either.
            let url = path
                .to_str()
                .filter(|text| text.starts_with("redis://") || text.starts_with("rediss://"));
            (kv.url, kv.path) = match url {
                Some(url) => (Some(url.to_string()), None),
                None => (None, Some(path.clone())),
            };
            flag_set.push((
                "kv",
                format!("--kv {}", path.display()),
                "give a database file to create or open, in a directory that exists, or a Redis URL (`redis://host:port/db`)",
            ));
        }
        let flag_dir = match (&self.dir, &self.dir_rw) {
            (Some(path), _) => Some((path, false, "--dir")),
            (None, Some(path)) => Some((path, true, "--dir-rw")),
            (None, None) => None,
        };
        if let Some((path, write, flag)) = flag_dir {
            let fs = manifest.fs.get_or_insert_default();
            fs.dir = path.clone();
            fs.write = write;
            flag_set.push((
                "fs",
                format!("{flag} {}", path.display()),
                "give a directory that exists",
            ));
        }

        if !self.http_ca.is_empty() && self.allow_http.is_empty() && manifest.http.is_none() {
            return Err(Failure::usage(
                "--http-ca: `http` is not granted, so there is nothing to verify",
            )
            .help("grant it with --allow-http ORIGIN (or an [http] table in tape.toml)"));
        }
        if !self.allow_http.is_empty() || manifest.http.is_some() {
            let http = manifest.http.get_or_insert_default();
            for path in &self.http_ca {
                let checked = std::fs::read(path)
                    .map_err(|e| format!("cannot read it: {e}"))
                    .and_then(|pem| Http::check_root_certificates(&pem));
                checked.map_err(|e| {
                    Failure::usage(format!("--http-ca {}: {e}", path.display()))
                        .help("give a PEM file holding `BEGIN CERTIFICATE` blocks")
                })?;
                http.root_certificates.push(path.clone());
            }
            for origin in &self.allow_http {
                let origin = if origin.contains("://") {
                    origin.clone()
                } else {
                    format!("https://{origin}")
                };
                Http::check_origin(&origin).map_err(|e| {
                    Failure::usage(format!("--allow-http: {e}")).help(
                        "give an origin: `https://host`, `http://host:port`, \
                         `https://*.example.com`",
                    )
                })?;
                http.allow.push(origin);
            }
        }
        manifest.ai = self.ai_grant(manifest.ai.take())?;

        manifest.grants().map_err(|error| match &error {
            ManifestError::Grant { table, source, .. } => {
                match flag_set.iter().find(|(t, _, _)| t == table) {
                    Some((_, flag, help)) => {
                        Failure::usage(format!("{flag}: {source}")).help(*help)
                    }
                    None => Failure::from(error),
                }
            }
            _ => Failure::from(error),
        })
    }

    /// `[ai]` with the `--ai…` flags over it.
    fn ai_grant(&self, table: Option<AiGrant>) -> Result<Option<AiGrant>, Failure> {
        let flags_given = self.ai.is_some() || self.ai_model.is_some() || self.ai_key_env.is_some();
        let Some(mut ai) = table.or_else(|| flags_given.then(AiGrant::default)) else {
            return Ok(None);
        };
        if let Some(url) = &self.ai {
            ai.base_url.clone_from(url);
        }
        if let Some(model) = &self.ai_model {
            ai.model.clone_from(model);
        }
        if let Some(var) = &self.ai_key_env {
            ai.api_key_env = Some(var.clone());
        }
        if ai.base_url.is_empty() || ai.model.is_empty() {
            return Err(Failure::usage("granting `ai` needs both an endpoint and a model")
                .help("pass --ai URL and --ai-model NAME, or put `base-url` and `model` in the [ai] table of tape.toml"));
        }
        Ok(Some(ai))
    }
}

/// A program's log message on standard error, as `[level] message`.
pub fn print_log(styles: Styles, level: Level, message: &str) {
    let style = match level {
        Level::Error => ERROR,
        Level::Warn => WARNING,
        Level::Info => HELP,
        Level::Debug | Level::Trace => NOTE,
    };
    let level = styles.paint(style, level.as_str());
    print_stderr(&format!("[{level}] {message}\n"));
}

/// The import catalogue every command compiles with: every built-in
/// capability, granted or not, so that a program calling one compiles and
/// a run without the grant says which grant to add.
pub fn catalogue() -> Catalogue {
    tape_caps::grants().catalogue()
}
