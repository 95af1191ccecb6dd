//! The workflows lock file: a checked-in record of every workflow definition a binary serves
//! (name, version, definition hash, fingerprint, and each state with its stable identity,
//! carried fields and their shapes), so that a definition that changes without a version bump
//! fails `cargo test` with a readable diff instead of blocking running instances after a deploy.
//!
//! [`check`] compares the registered definitions with the file. Like `insta`, it never edits
//! the file unless asked: with `SAYIIR_UPDATE_LOCK=1` in the environment it writes the current
//! definitions and passes. A missing file is written on the first run, except under CI (the
//! `CI` variable set), where it is an error.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::describe::{FieldShape, StateShape, TypeShape, WorkflowShape, hex, workflow_changes};

/// Format version of the lock file.
const LOCK_FORMAT: u32 = 1;

/// The environment variable that makes [`check`] rewrite the lock file.
pub const UPDATE_VAR: &str = "SAYIIR_UPDATE_LOCK";

#[derive(Serialize, Deserialize)]
struct LockFile {
    /// Format of this file.
    format: u32,
    workflows: Vec<Entry>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    version: u32,
    hash: String,
    fingerprint: String,
    inputs: Vec<FieldShape>,
    output: TypeShape,
    states: Vec<StateShape>,
}

impl Entry {
    fn of(d: &WorkflowShape) -> Self {
        Self {
            name: d.name.clone(),
            version: d.version,
            hash: d.hash.clone(),
            fingerprint: hex(&d.fingerprint()),
            inputs: d.inputs.clone(),
            output: d.output.clone(),
            states: d.states.clone(),
        }
    }

    fn shape(&self) -> WorkflowShape {
        WorkflowShape {
            name: self.name.clone(),
            version: self.version,
            hash: self.hash.clone(),
            inputs: self.inputs.clone(),
            output: self.output.clone(),
            states: self.states.clone(),
        }
    }

    fn same(&self, other: &Entry) -> bool {
        self.hash == other.hash && self.fingerprint == other.fingerprint
    }
}

/// What [`check`] did when it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockOutcome {
    /// The file matches the registered definitions.
    UpToDate,
    /// The file did not exist and was written.
    Created,
    /// The file was rewritten (`SAYIIR_UPDATE_LOCK=1`); the changes it accepted, one per line.
    Updated(Vec<String>),
}

/// Why [`check`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// The file could not be read or written.
    #[error("cannot access the lock file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a lock file this version reads.
    #[error("the lock file {path} is not readable: {detail}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// There is no lock file, under CI.
    #[error("there is no lock file {path}: run `{UPDATE_VAR}=1 cargo test` and check the file in")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The registered definitions differ from the file.
    #[error("{0}")]
    Stale(StaleLock),
}

/// The differences between the registered definitions and the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleLock {
    /// The file.
    pub path: PathBuf,
    /// One block per workflow version that differs, already worded.
    pub problems: Vec<String>,
}

impl fmt::Display for StaleLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the lock file {} does not match the registered workflows:",
            self.path.display()
        )?;
        for p in &self.problems {
            writeln!(f)?;
            writeln!(f, "{p}")?;
        }
        writeln!(f)?;
        write!(
            f,
            "if these changes are intended, accept them with `{UPDATE_VAR}=1 cargo test` and check the file in"
        )
    }
}

fn key(e: &Entry) -> (&str, u32) {
    (e.name.as_str(), e.version)
}

/// The differences between `locked` and `current`, worded.
fn compare(locked: &[Entry], current: &[Entry]) -> Vec<String> {
    let mut out = Vec::new();
    for c in current {
        match locked.iter().find(|l| key(l) == key(c)) {
            None => out.push(format!(
                "  workflow `{}` version {} is not in the lock file (new)",
                c.name, c.version
            )),
            Some(l) if !l.same(c) => {
                let mut block = format!(
                    "  workflow `{}` version {} changed without a version bump:",
                    c.name, c.version
                );
                for line in workflow_changes(&l.shape(), &c.shape()) {
                    block.push_str(&format!("\n    {line}"));
                }
                let mut ids = Vec::new();
                if l.hash != c.hash {
                    ids.push(format!(
                        "definition {} is now {}",
                        short(&l.hash),
                        short(&c.hash)
                    ));
                }
                if l.fingerprint != c.fingerprint {
                    ids.push(format!(
                        "fingerprint {} is now {}",
                        short(&l.fingerprint),
                        short(&c.fingerprint)
                    ));
                }
                block.push_str(&format!(
                    "\n    ({})\
                     \n    its running instances would stop as a version mismatch: bump `#[workflow(version = {})]` \
                     and keep version {} registered to drain it (or declare a `Migration` from it)",
                    ids.join("; "),
                    c.version + 1,
                    c.version,
                ));
                out.push(block);
            }
            Some(_) => {}
        }
    }
    for l in locked {
        if !current.iter().any(|c| key(c) == key(l)) {
            out.push(format!(
                "  workflow `{}` version {} is in the lock file but no longer registered: its running \
                 instances would be blocked; keep it registered until they drain, declare a `Migration` \
                 from it, or restart them on a newer version",
                l.name, l.version
            ));
        }
    }
    out
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}

fn read(path: &Path) -> Result<Option<Vec<Entry>>, LockError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(LockError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let file: LockFile = serde_json::from_str(&text).map_err(|e| LockError::Malformed {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    if file.format != LOCK_FORMAT {
        return Err(LockError::Malformed {
            path: path.to_path_buf(),
            detail: format!(
                "format {} (this version of sayiir reads format {LOCK_FORMAT})",
                file.format
            ),
        });
    }
    Ok(Some(file.workflows))
}

fn write(path: &Path, entries: Vec<Entry>) -> Result<(), LockError> {
    let file = LockFile {
        format: LOCK_FORMAT,
        workflows: entries,
    };
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut text = serde_json::to_string_pretty(&file).map_err(|e| io(e.into()))?;
    text.push('\n');
    std::fs::write(path, text).map_err(io)
}

/// Whether a variable's value turns its setting on: set, not empty, not `0`, not `false`.
fn on(value: Option<String>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// What [`check_with`] may do to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockMode {
    /// Compare; write the file only if it does not exist.
    Check,
    /// Compare; a missing file is an error too (what CI wants).
    Strict,
    /// Write the current definitions whatever the file holds.
    Update,
}

impl LockMode {
    /// From the environment: [`LockMode::Update`] with `SAYIIR_UPDATE_LOCK=1`, else
    /// [`LockMode::Strict`] under CI (`CI` set), else [`LockMode::Check`].
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`LockMode::from_env`] over the variables `var` returns.
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        if on(var(UPDATE_VAR)) {
            LockMode::Update
        } else if on(var("CI")) {
            LockMode::Strict
        } else {
            LockMode::Check
        }
    }
}

/// Checks the lock file at `path` against `definitions` in the mode the environment says
/// ([`LockMode::from_env`]; see the module documentation).
pub fn check(
    definitions: &[WorkflowShape],
    path: impl AsRef<Path>,
) -> Result<LockOutcome, LockError> {
    check_with(definitions, path, LockMode::from_env())
}

/// Checks the lock file at `path` against `definitions` in `mode`.
pub fn check_with(
    definitions: &[WorkflowShape],
    path: impl AsRef<Path>,
    mode: LockMode,
) -> Result<LockOutcome, LockError> {
    let path = path.as_ref();
    let mut current: Vec<Entry> = definitions.iter().map(Entry::of).collect();
    current.sort_by(|a, b| key(a).cmp(&key(b)));
    current.dedup_by(|a, b| key(a) == key(b) && a.same(b));
    let Some(locked) = read(path)? else {
        if mode == LockMode::Strict {
            return Err(LockError::Missing {
                path: path.to_path_buf(),
            });
        }
        write(path, current)?;
        return Ok(LockOutcome::Created);
    };
    let problems = compare(&locked, &current);
    if problems.is_empty() {
        return Ok(LockOutcome::UpToDate);
    }
    if mode == LockMode::Update {
        write(path, current)?;
        return Ok(LockOutcome::Updated(problems));
    }
    Err(LockError::Stale(StaleLock {
        path: path.to_path_buf(),
        problems,
    }))
}

#[cfg(test)]
mod tests {
    use super::{LockMode, UPDATE_VAR};

    fn mode(vars: &[(&str, &str)]) -> LockMode {
        LockMode::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn the_environment_picks_the_mode() {
        assert_eq!(mode(&[]), LockMode::Check);
        assert_eq!(mode(&[("CI", "true")]), LockMode::Strict);
        assert_eq!(mode(&[("CI", "1")]), LockMode::Strict);
        for off in ["", "0", "false"] {
            assert_eq!(mode(&[("CI", off)]), LockMode::Check, "CI={off:?}");
            assert_eq!(
                mode(&[(UPDATE_VAR, off)]),
                LockMode::Check,
                "update={off:?}"
            );
        }
        assert_eq!(mode(&[(UPDATE_VAR, "1")]), LockMode::Update);
        // Accepting changes wins over CI's strictness.
        assert_eq!(mode(&[("CI", "true"), (UPDATE_VAR, "1")]), LockMode::Update);
    }
}
