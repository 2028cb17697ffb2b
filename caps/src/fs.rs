//! The `fs` capability: files inside one directory the host grants,
//! read-only or read-write, through cap-std.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::fs::{Dir, OpenOptions};
use wasmtime::{Caller, Linker};

use tape_rt::guest::{self, read_bytes_max, value_len};
use tape_rt::guest::{write_bytes, write_strings};
use tape_rt::{Capability, Error, Function, Result, Spec, State, status};

use crate::refusal::Refusal;

/// Files in one directory the host grants, read-only or read-write.
///
/// | import | signature | reply | statuses |
/// |---|---|---|---|
/// | `fs.read` | `(param $path i32) (result i32 i32)` | the file's bytes, `[len][bytes]` | `NOT_FOUND`, `TOO_LARGE` |
/// | `fs.write` | `(param $path i32) (param $bytes i32) (result i32)` | — | `ACCESS_DENIED` in a read-only grant, `TOO_LARGE` |
/// | `fs.list` | `(param $path i32) (result i32 i32)` | the names in the directory, sorted, directories with a trailing `/`, as a wire sequence of strings `[total][len][name][len][name]…` | `NOT_FOUND`, `TOO_LARGE` with the first [`max_list`](Fs::max_list) names when there are more |
///
/// `$path` and `$bytes` point at `[len][bytes]`, as a string literal does.
/// Paths are relative to the granted directory, with `/` between
/// components; `list` takes `""` or `"."` for the directory itself.
///
/// Every function returns:
/// - [`ACCESS_DENIED`](status::ACCESS_DENIED) for a path that could
///   leave the directory: an absolute path, any `..` component, or a
///   symlink that leads out (symlinks that stay inside are followed);
/// - [`INVALID_ARGUMENT`](status::INVALID_ARGUMENT) for a path that is
///   empty, not UTF-8, holds a NUL byte, ends in `/` (for `read` and
///   `write`), or names something of the wrong kind (reading a directory,
///   a FIFO or a device; listing a file);
/// - [`TOO_LARGE`](status::TOO_LARGE) for a path longer than
///   [`max_path_bytes`](Fs::max_path_bytes), and for the size caps below;
/// - [`IO_FAILURE`](status::IO_FAILURE) when the file system fails (a full
///   disk, say).
///
/// `write` creates missing parent directories and replaces the file
/// atomically: it writes a temporary file beside it and renames it over the
/// target, so a reader sees the old bytes or the new ones, never a mix.
/// (It does not `fsync`; a crash right after a write may lose it.) A
/// symlink at the target that stays inside the directory is replaced by
/// the new file, not followed.
///
/// ```wat
/// ;; Copy notes.txt to backup/notes.txt.
/// (func $run (result i32)
///   (local $bytes i32) (local $status i32)
///   (call $fs.read "notes.txt")
///   (local.set $status)
///   (local.set $bytes)
///   (if (local.get $status) (then (return (local.get $status))))
///   (call $fs.write "backup/notes.txt" (local.get $bytes)))
/// ```
///
/// # Limits
///
/// Each is a builder method: [`max_read_bytes`](Fs::max_read_bytes) per
/// file (16 MiB), [`max_write_bytes`](Fs::max_write_bytes) per file
/// (16 MiB), [`max_run_write_bytes`](Fs::max_run_write_bytes) a run may
/// write in all (64 MiB), [`max_list`](Fs::max_list) names per `list` reply
/// (1,000) and [`max_path_bytes`](Fs::max_path_bytes) (1 KiB).
///
/// ```no_run
/// use tape_caps::Fs;
/// use tape_rt::Grants;
///
/// let grants = Grants::new().grant(Fs::read_only("data")?);
/// # Ok::<(), tape_rt::Error>(())
/// ```
#[derive(Clone)]
pub struct Fs {
    dir: Arc<Dir>,
    root: Arc<Path>,
    writable: bool,
    max_read_bytes: u64,
    max_write_bytes: u64,
    max_run_write_bytes: u64,
    max_list: usize,
    max_path_bytes: usize,
}

impl fmt::Debug for Fs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fs")
            .field("root", &self.root)
            .field("writable", &self.writable)
            .field("max_read_bytes", &self.max_read_bytes)
            .field("max_write_bytes", &self.max_write_bytes)
            .field("max_run_write_bytes", &self.max_run_write_bytes)
            .field("max_list", &self.max_list)
            .field("max_path_bytes", &self.max_path_bytes)
            .finish_non_exhaustive()
    }
}

/// Temporary files of atomic writes start with this; `list` leaves them
/// out.
const TEMP_PREFIX: &str = ".tape-tmp-";

impl Fs {
    /// Grants reading the directory `dir` and everything under it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](tape_rt::ErrorKind::Io) if `dir` cannot be opened
    /// as a directory.
    pub fn read_only(dir: impl AsRef<Path>) -> Result<Fs> {
        Fs::open(dir.as_ref(), false)
    }

    /// Grants reading and writing the directory `dir` and everything under
    /// it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](tape_rt::ErrorKind::Io) if `dir` cannot be opened
    /// as a directory.
    pub fn read_write(dir: impl AsRef<Path>) -> Result<Fs> {
        Fs::open(dir.as_ref(), true)
    }

    fn open(root: &Path, writable: bool) -> Result<Fs> {
        // The only use of ambient authority: every later access is relative
        // to this handle, and cap-std refuses paths that leave it.
        let dir = Dir::open_ambient_dir(root, cap_std::ambient_authority()).map_err(|e| {
            Error::io(
                format!("cannot open the directory `{}` to grant it", root.display()),
                e,
            )
        })?;
        Ok(Fs {
            dir: Arc::new(dir),
            root: root.into(),
            writable,
            max_read_bytes: 16 << 20,
            max_write_bytes: 16 << 20,
            max_run_write_bytes: 64 << 20,
            max_list: 1000,
            max_path_bytes: 1024,
        })
    }

    /// Largest file `read` returns, in bytes (default 16 MiB).
    pub fn max_read_bytes(mut self, max: u64) -> Self {
        self.max_read_bytes = max;
        self
    }

    /// Largest file `write` writes, in bytes (default 16 MiB).
    pub fn max_write_bytes(mut self, max: u64) -> Self {
        self.max_write_bytes = max;
        self
    }

    /// Bytes one run may write in all its `write` calls (default 64 MiB).
    pub fn max_run_write_bytes(mut self, max: u64) -> Self {
        self.max_run_write_bytes = max;
        self
    }

    /// Most names one `list` reply holds (default 1,000).
    pub fn max_list(mut self, max: usize) -> Self {
        self.max_list = max;
        self
    }

    /// Longest path a guest may pass, in bytes (default 1 KiB).
    pub fn max_path_bytes(mut self, max: usize) -> Self {
        self.max_path_bytes = max;
        self
    }

    /// The guest's path as one relative to the directory, or why it is
    /// refused. `""` and `"."` name the directory itself, allowed only when
    /// `dir_ok`.
    fn path(&self, bytes: Vec<u8>, dir_ok: bool) -> Result<PathBuf, Refusal> {
        let invalid = |message: String| Refusal::new(status::INVALID_ARGUMENT, message);
        if bytes.len() > self.max_path_bytes {
            return Err(Refusal::new(
                status::TOO_LARGE,
                format!(
                    "the path is {} bytes, past the {}-byte limit",
                    bytes.len(),
                    self.max_path_bytes
                ),
            ));
        }
        let Ok(text) = String::from_utf8(bytes) else {
            return Err(invalid("the path is not UTF-8".into()));
        };
        if text.contains('\0') {
            return Err(invalid(format!(
                "the path `{}` holds a NUL byte",
                text.escape_debug()
            )));
        }
        let mut names = 0;
        for component in Path::new(&text).components() {
            match component {
                Component::Normal(_) => names += 1,
                Component::CurDir => {}
                // `..` is refused even where it would stay inside: a path
                // that never goes up cannot be tricked into going out.
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                    return Err(Refusal::new(
                        status::ACCESS_DENIED,
                        format!(
                            "`{text}` is not a path inside the granted directory: no `..` and no leading `/`"
                        ),
                    ));
                }
            }
        }
        if names == 0 {
            return if dir_ok {
                Ok(PathBuf::from("."))
            } else {
                Err(invalid(format!(
                    "`{text}` names the directory itself, not a file"
                )))
            };
        }
        if !dir_ok && (text.ends_with('/') || text.ends_with("/.")) {
            return Err(invalid(format!("`{text}` names a directory, not a file")));
        }
        Ok(PathBuf::from(text))
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>, Refusal> {
        let io = |error| io_refusal(path, error);
        let too_large = |len: String| {
            Refusal::new(
                status::TOO_LARGE,
                format!(
                    "`{}` is {len} bytes, past the {}-byte read limit",
                    path.display(),
                    self.max_read_bytes
                ),
            )
        };
        let not_a_file = || {
            Refusal::new(
                status::INVALID_ARGUMENT,
                format!("`{}` is not a regular file", path.display()),
            )
        };
        // Looked at before opening, so that a device is not even opened
        // (opening some has effects).
        let metadata = self.dir.metadata(path).map_err(io)?;
        if !metadata.is_file() {
            return Err(not_a_file());
        }
        if metadata.len() > self.max_read_bytes {
            return Err(too_large(metadata.len().to_string()));
        }
        // The path may name something else by the time it is opened: a
        // FIFO swapped in would block a plain open until a writer came.
        // Opened without blocking, then the handle itself is checked.
        let file = self
            .dir
            .open_with(path, &read_without_blocking())
            .map_err(io)?;
        let metadata = file.metadata().map_err(io)?;
        if !metadata.is_file() {
            return Err(not_a_file());
        }
        // The file may have grown since: read one byte past the cap to
        // know.
        let capacity = metadata.len().min(self.max_read_bytes) as usize;
        let mut bytes = Vec::with_capacity(capacity);
        file.take(self.max_read_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > self.max_read_bytes {
            return Err(too_large("more than that".into()));
        }
        Ok(bytes)
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), Refusal> {
        // The rename below would replace a symlink at `path` rather than
        // follow it, so one leading out does no harm; it is refused all
        // the same, as reading it is.
        if let Err(error) = self.dir.metadata(path)
            && error.kind() == io::ErrorKind::PermissionDenied
        {
            return Err(io_refusal(path, error));
        }
        let parent = path.parent().unwrap_or(Path::new(""));
        if !parent.as_os_str().is_empty() {
            self.dir
                .create_dir_all(parent)
                .map_err(|e| io_refusal(parent, e))?;
        }
        let temp = parent.join(temp_name());
        let written = (|| {
            let mut file = self
                .dir
                .open_with(&temp, OpenOptions::new().write(true).create_new(true))?;
            file.write_all(bytes)?;
            drop(file);
            self.dir.rename(&temp, &self.dir, path)
        })();
        if let Err(error) = written {
            // Best effort: the temporary file may not even exist.
            let _ = self.dir.remove_file(&temp);
            return Err(io_refusal(path, error));
        }
        Ok(())
    }

    /// Sorted names in the directory at `path`; `bool`: there were more
    /// than `max_list`.
    fn list(&self, path: &Path) -> Result<(Vec<String>, bool), Refusal> {
        let io = |error| io_refusal(path, error);
        let mut names = Vec::new();
        for entry in self.dir.read_dir(path).map_err(io)? {
            let entry = entry.map_err(io)?;
            // A name that is not UTF-8 could not be passed back anyway.
            let Ok(mut name) = entry.file_name().into_string() else {
                continue;
            };
            if name.starts_with(TEMP_PREFIX) {
                continue;
            }
            if entry.file_type().map_err(io)?.is_dir() {
                name.push('/');
            }
            names.push(name);
        }
        names.sort_unstable();
        let truncated = names.len() > self.max_list;
        names.truncate(self.max_list);
        Ok((names, truncated))
    }
}

/// Options that open a file for reading without waiting: for a FIFO,
/// without waiting for a writer; never a controlling terminal.
/// `O_NONBLOCK` changes nothing for the regular files that are then read.
fn read_without_blocking() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use cap_std::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options
}

/// A name no other write, in this process or another, uses at once.
fn temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{TEMP_PREFIX}{}-{n}", std::process::id())
}

/// Why a file-system call on `path` (relative to the granted directory)
/// failed, with its status. cap-std reports a path that would leave the
/// directory, through a symlink, as `PermissionDenied`. The guest is told
/// only what its own path tells it: no host path, no OS message.
fn io_refusal(path: &Path, error: io::Error) -> Refusal {
    use io::ErrorKind::*;
    let path = path.display();
    let (status, message) = match error.kind() {
        NotFound => (
            status::NOT_FOUND,
            format!("there is no `{path}` in the granted directory"),
        ),
        PermissionDenied => (
            status::ACCESS_DENIED,
            format!(
                "`{path}` may not be used: it leads outside the granted directory, or the host may not open it"
            ),
        ),
        ReadOnlyFilesystem => (
            status::ACCESS_DENIED,
            format!("`{path}` is on a read-only file system"),
        ),
        IsADirectory => (status::INVALID_ARGUMENT, format!("`{path}` is a directory")),
        NotADirectory => (
            status::INVALID_ARGUMENT,
            format!("a part of `{path}` is a file, not a directory"),
        ),
        DirectoryNotEmpty | InvalidInput | InvalidFilename | AlreadyExists => (
            status::INVALID_ARGUMENT,
            format!("`{path}`: {}", error.kind()),
        ),
        _ => {
            tracing::warn!(target: "tape::fs", "file system call failed: {error}");
            (
                status::IO_FAILURE,
                format!("the file system failed on `{path}`; the host's log has the details"),
            )
        }
    };
    Refusal::new(status, message)
}

/// What a run has written.
#[derive(Debug, Default)]
struct FsRun {
    written: u64,
}

/// What the capability is: its name, description and functions.
pub const SPEC: Spec = Spec::new(NAME, DESCRIPTION, FUNCTIONS);

pub(crate) const FUNCTIONS: &[Function] = &[
    Function::new("read", "(param $path i32) (result i32 i32)")
        .roles("str -> ptr status")
        .doc("The bytes of the file at `$path` (relative to the granted directory): (pointer to `[len][bytes]`, status).\n\nStatus `NOT_FOUND` (3), `ACCESS_DENIED` (2) for a path outside the directory, `TOO_LARGE` (4) past the read cap."),
    Function::new("write", "(param $path i32) (param $bytes i32) (result i32)")
        .roles("str ptr -> status")
        .doc("Writes the bytes of the value at `$bytes` to the file at `$path`, replacing it.\n\nStatus `ACCESS_DENIED` (2) in a read-only grant or outside the directory, `TOO_LARGE` (4) past a write cap."),
    Function::new("list", "(param $path i32) (result i32 i32)")
        .roles("str -> ptr status")
        .doc("The names in the directory at `$path`, sorted, directories ending in `/`, as a sequence of strings.\n\nStatus `NOT_FOUND` (3); `TOO_LARGE` (4) with the first names when there are more than one reply holds."),
];

pub(crate) const NAME: &str = "fs";
pub(crate) const DESCRIPTION: &str =
    "read, write and list files in one granted directory, read-only or read-write";

impl Fs {
    /// Reads the path argument at `ptr`, counting its bytes.
    fn read_path(
        &self,
        caller: &mut Caller<'_, State>,
        ptr: i32,
        dir_ok: bool,
    ) -> wasmtime::Result<Result<PathBuf, Refusal>> {
        let Some(bytes) = read_bytes_max(&*caller, ptr as u32, self.max_path_bytes)? else {
            let len = value_len(&*caller, ptr as u32)?;
            return Ok(Err(Refusal::new(
                status::TOO_LARGE,
                format!(
                    "the path is {len} bytes, past the {}-byte limit",
                    self.max_path_bytes
                ),
            )));
        };
        caller.data_mut().usage_mut(NAME).bytes_in += bytes.len() as u64;
        Ok(self.path(bytes, dir_ok))
    }
}

impl Capability for Fs {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "read",
            move |mut caller: Caller<'_, State>, path: i32| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_call(NAME);
                let read = this
                    .read_path(&mut caller, path, false)?
                    .and_then(|path| this.read(&path));
                let bytes = match read {
                    Ok(bytes) => bytes,
                    Err(refusal) => return Ok((0, refusal.fail(&mut caller, "fs.read"))),
                };
                let ptr = write_bytes(&mut caller, &bytes)?;
                caller.data_mut().usage_mut(NAME).bytes_out += bytes.len() as u64;
                Ok((ptr as i32, status::OK))
            },
        )?;
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "write",
            move |mut caller: Caller<'_, State>, path: i32, bytes: i32| -> wasmtime::Result<i32> {
                caller.data_mut().count_call(NAME);
                let path = this.read_path(&mut caller, path, false)?;
                let max = usize::try_from(this.max_write_bytes).unwrap_or(usize::MAX);
                let Some(bytes) = read_bytes_max(&caller, bytes as u32, max)? else {
                    let len = value_len(&caller, bytes as u32)?;
                    let message = format!(
                        "{len} bytes to write, past the {}-byte write limit",
                        this.max_write_bytes
                    );
                    return Ok(guest::fail(&mut caller, "fs.write", status::TOO_LARGE, message));
                };
                caller.data_mut().usage_mut(NAME).bytes_in += bytes.len() as u64;
                let path = match path {
                    Ok(path) => path,
                    Err(refusal) => return Ok(refusal.fail(&mut caller, "fs.write")),
                };
                if !this.writable {
                    let message = "the directory is granted read-only (`--dir`); grant it with `--dir-rw` to write";
                    return Ok(guest::fail(&mut caller, "fs.write", status::ACCESS_DENIED, message));
                }
                let size = bytes.len() as u64;
                let Some(run) = caller.data_mut().get::<FsRun>() else {
                    return Err(Error::capability(NAME, "no state for this run").into());
                };
                if size > this.max_write_bytes
                    || run.written.saturating_add(size) > this.max_run_write_bytes
                {
                    let message = format!(
                        "the run has written {} bytes; {size} more would pass its {}-byte limit",
                        run.written, this.max_run_write_bytes
                    );
                    return Ok(guest::fail(&mut caller, "fs.write", status::TOO_LARGE, message));
                }
                match this.write(&path, &bytes) {
                    Ok(()) => {
                        run.written += size;
                        Ok(status::OK)
                    }
                    Err(refusal) => Ok(refusal.fail(&mut caller, "fs.write")),
                }
            },
        )?;
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "list",
            move |mut caller: Caller<'_, State>, path: i32| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_call(NAME);
                let listed = this
                    .read_path(&mut caller, path, true)?
                    .and_then(|path| this.list(&path));
                let (names, truncated) = match listed {
                    Ok(listed) => listed,
                    Err(refusal) => return Ok((0, refusal.fail(&mut caller, "fs.list"))),
                };
                let ptr = write_strings(&mut caller, &names)?;
                let bytes: usize = names.iter().map(|n| 4 + n.len()).sum();
                caller.data_mut().usage_mut(NAME).bytes_out += bytes as u64;
                let status = if truncated {
                    let message = format!(
                        "the directory holds more than {} entries; the reply holds the first {}",
                        this.max_list, this.max_list
                    );
                    guest::fail(&mut caller, "fs.list", status::TOO_LARGE, message)
                } else {
                    status::OK
                };
                Ok((ptr as i32, status))
            },
        )?;
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        state.insert(FsRun::default());
    }
}

/// `[fs]`: see [`Fs`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct FsGrant {
    /// The directory, relative to the manifest.
    pub dir: PathBuf,
    /// Whether the program may write in it (default no).
    #[serde(default)]
    pub write: bool,
    /// Largest file a read returns.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_read_bytes: Option<u64>,
    /// Largest file a write writes.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_write_bytes: Option<u64>,
    /// Bytes a run may write in all.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_run_write_bytes: Option<u64>,
    /// Entries one `list` returns.
    pub max_list: Option<u64>,
    /// Longest path.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_path_bytes: Option<u64>,
}

impl FsGrant {
    /// The capability: `dir`, read-only unless `write`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](tape_rt::ErrorKind::Io) if the directory cannot be
    /// opened.
    pub fn fs(&self) -> Result<Fs> {
        let fs = if self.write {
            Fs::read_write(&self.dir)
        } else {
            Fs::read_only(&self.dir)
        };
        let mut fs = fs?;
        if let Some(max) = self.max_read_bytes {
            fs = fs.max_read_bytes(max);
        }
        if let Some(max) = self.max_write_bytes {
            fs = fs.max_write_bytes(max);
        }
        if let Some(max) = self.max_run_write_bytes {
            fs = fs.max_run_write_bytes(max);
        }
        if let Some(max) = self.max_list {
            fs = fs.max_list(crate::table::saturate(max));
        }
        if let Some(max) = self.max_path_bytes {
            fs = fs.max_path_bytes(crate::table::saturate(max));
        }
        Ok(fs)
    }
}

impl crate::table::Table for FsGrant {
    /// `dir` is relative to the manifest.
    fn resolve(
        &mut self,
        base: &Path,
        _: &dyn Fn(usize, &str) -> crate::table::ManifestError,
    ) -> std::result::Result<(), crate::table::ManifestError> {
        self.dir = base.join(&self.dir);
        Ok(())
    }

    fn grant(&self, _: &crate::table::Shared) -> Result<Arc<dyn Capability>> {
        Ok(Arc::new(self.fs()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs() -> Fs {
        Fs::read_only(std::env::temp_dir()).unwrap()
    }

    #[test]
    fn paths_that_could_leave_are_refused_before_any_system_call() {
        let fs = fs();
        let path = |p: &str, dir_ok| {
            fs.path(p.as_bytes().to_vec(), dir_ok)
                .map_err(|refusal| refusal.status)
        };
        for escape in [
            "../x",
            "a/../../x",
            "a/../b",
            "/etc/passwd",
            "./../x",
            "a/./../..",
        ] {
            assert_eq!(path(escape, false), Err(status::ACCESS_DENIED), "{escape}");
            assert_eq!(path(escape, true), Err(status::ACCESS_DENIED), "{escape}");
        }
        for invalid in ["", ".", "./.", "a/", "a/.", "a\0b"] {
            assert_eq!(
                path(invalid, false),
                Err(status::INVALID_ARGUMENT),
                "{invalid:?}"
            );
        }
        assert_eq!(path("", true), Ok(PathBuf::from(".")));
        assert_eq!(path("./", true), Ok(PathBuf::from(".")));
        assert_eq!(path("a/", true), Ok(PathBuf::from("a/")));
        assert_eq!(path("./a//b", false), Ok(PathBuf::from("./a//b")));
        assert_eq!(path("...", false), Ok(PathBuf::from("...")));
        assert_eq!(
            fs.path(vec![0xff, b'a'], false),
            Err(Refusal::new(
                status::INVALID_ARGUMENT,
                "the path is not UTF-8"
            ))
        );
        assert_eq!(path(&"a".repeat(1025), false), Err(status::TOO_LARGE));
    }
}
