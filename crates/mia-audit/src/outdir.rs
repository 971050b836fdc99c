//! Output folders (`-o`, `--artifacts`): checked before any work, cleared of the previous
//! run's report, and filled with a finished report in one step.
//!
//! The rule, as a user or a CI job sees it: the report files in a folder belong to one
//! finished run.
//!
//! * Before any work (before a model is trained), a command checks its output folder
//!   ([`check_output_dir`]): it exists or can be created, it is a folder (not a file, not a
//!   link to nothing), and a file can be created in it. The last is tried for real, since
//!   permission bits say nothing for root or on a read-only mount.
//! * A report command then removes the report files a previous run left there
//!   ([`prepare_output_dir`] with [`REPORT_FILES`]), so a run that fails later leaves no
//!   report that could pass for its own (e.g. one a CI job would upload as this run's).
//! * At the end ([`install_files`]) the files are written into a private staging folder
//!   inside the output folder (same filesystem, so renames are atomic) and renamed into
//!   place, `report.json` last: a folder holding `report.json` holds the whole set. A
//!   failure while writing removes the staging folder and any file already moved, so no
//!   half set and no temporary file stays behind.

use std::path::{Path, PathBuf};

use crate::AuditError;

/// Every file a report command may write into its output folder: removed before a run
/// starts and replaced as one set at its end.
pub const REPORT_FILES: &[&str] =
    &["report.json", "records.csv", "records.parquet", "report.html", "plan.npz", "encoding.json"];

/// The report file moved into place last: its presence means the set is complete.
const LAST: &str = "report.json";

fn unusable(dir: &Path, reason: impl Into<String>) -> AuditError {
    AuditError::OutputDir { path: dir.display().to_string(), reason: reason.into() }
}

/// Why a folder could not be created at `dir`: the first ancestor that exists but is not
/// a folder, or else the error itself.
fn create_failure(dir: &Path, e: &std::io::Error) -> String {
    for a in dir.ancestors().skip(1).filter(|a| !a.as_os_str().is_empty()) {
        let Ok(m) = a.symlink_metadata() else { continue };
        return match std::fs::metadata(a) {
            Err(_) if m.is_symlink() => format!("cannot create it: {} is a link to a missing target", a.display()),
            Ok(t) if !t.is_dir() => format!("cannot create it: {} is a file, not a folder", a.display()),
            _ => format!("cannot create it: {e}"),
        };
    }
    format!("cannot create it: {e}")
}

/// Checks that `dir` is a usable output folder, creating it (and its parents) if needed:
/// a folder, or a link to one, in which a file can be created. Errors name the folder and
/// the reason ([`AuditError::OutputDir`], exit code 2).
pub fn check_output_dir(dir: &Path) -> Result<(), AuditError> {
    match dir.symlink_metadata() {
        Ok(m) if m.is_symlink() => match std::fs::metadata(dir) {
            Ok(t) if t.is_dir() => {}
            Ok(_) => return Err(unusable(dir, "it is a link to a file, not a folder")),
            Err(_) => {
                let target = std::fs::read_link(dir).map_or_else(|_| "?".into(), |t| t.display().to_string());
                return Err(unusable(dir, format!("it is a link to {target}, which does not exist")));
            }
        },
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(unusable(dir, "it is a file, not a folder")),
        Err(_) => std::fs::create_dir_all(dir).map_err(|e| unusable(dir, create_failure(dir, &e)))?,
    }
    tempfile::Builder::new()
        .prefix(".mia-write-check-")
        .tempfile_in(dir)
        .map_err(|e| unusable(dir, format!("cannot create files in it: {e}")))?;
    Ok(())
}

/// [`check_output_dir`], then removes the files named `previous` that an earlier run left
/// in `dir` (a folder in their place is an error: it is not this tool's to remove).
pub fn prepare_output_dir(dir: &Path, previous: &[&str]) -> Result<(), AuditError> {
    check_output_dir(dir)?;
    remove_previous(dir, previous)
}

/// Removes `names` from `dir` where present, [`LAST`] first so that an interrupted removal
/// never leaves a `report.json` beside a partial set.
fn remove_previous(dir: &Path, names: &[&str]) -> Result<(), AuditError> {
    let mut ordered: Vec<&str> = names.iter().copied().filter(|&n| n == LAST).collect();
    ordered.extend(names.iter().copied().filter(|&n| n != LAST));
    for name in ordered {
        let path = dir.join(name);
        match path.symlink_metadata() {
            Err(_) => continue,
            Ok(m) if m.is_dir() => {
                return Err(unusable(
                    dir,
                    format!(
                        "{} is a folder where the report writes a file; remove it or choose another folder",
                        path.display()
                    ),
                ));
            }
            Ok(_) => std::fs::remove_file(&path)
                .map_err(|e| unusable(dir, format!("cannot remove the previous run's {name}: {e}")))?,
        }
    }
    Ok(())
}

/// Writes `files` (name, bytes) into `dir` as one set: staged in a private folder inside
/// `dir`, then renamed into place with [`LAST`] last, after the previous run's
/// [`REPORT_FILES`] are removed. On failure nothing of this set and no staging file
/// remains. Every name must be listed in [`REPORT_FILES`], so that a later run clears it.
pub fn install_files(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), AuditError> {
    debug_assert!(files.iter().all(|(n, _)| REPORT_FILES.contains(&n.as_str())), "unlisted report file");
    let werr = |p: &Path, e: std::io::Error| AuditError::Write { path: p.display().to_string(), source: e };
    check_output_dir(dir)?;
    // Dropped (removed with whatever it still holds) on every return.
    let staging = tempfile::Builder::new().prefix(".mia-staging-").tempdir_in(dir).map_err(|e| werr(dir, e))?;
    for (name, bytes) in files {
        let path = staging.path().join(name);
        std::fs::write(&path, bytes).map_err(|e| werr(&path, e))?;
    }
    remove_previous(dir, REPORT_FILES)?;
    let mut order: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).filter(|&n| n != LAST).collect();
    order.extend(files.iter().map(|(n, _)| n.as_str()).filter(|&n| n == LAST));
    let mut moved: Vec<PathBuf> = Vec::with_capacity(order.len());
    for name in order {
        let to = dir.join(name);
        if let Err(e) = std::fs::rename(staging.path().join(name), &to) {
            for p in &moved {
                let _ = std::fs::remove_file(p);
            }
            return Err(werr(&to, e));
        }
        moved.push(to);
    }
    staging.close().map_err(|e| werr(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    fn files(set: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        set.iter().map(|(n, b)| (n.to_string(), b.as_bytes().to_vec())).collect()
    }

    #[test]
    fn unusable_folders_are_named_with_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let msg = |p: &Path| check_output_dir(p).unwrap_err().to_string();
        assert!(msg(&file).contains("is a file, not a folder"), "{}", msg(&file));
        assert!(msg(&file.join("sub")).contains(&format!("{} is a file, not a folder", file.display())));
        #[cfg(unix)]
        {
            let link = tmp.path().join("dangling");
            std::os::unix::fs::symlink(tmp.path().join("nowhere"), &link).unwrap();
            assert!(msg(&link).contains("which does not exist"), "{}", msg(&link));
            let to_file = tmp.path().join("to-file");
            std::os::unix::fs::symlink(&file, &to_file).unwrap();
            assert!(msg(&to_file).contains("link to a file"), "{}", msg(&to_file));
            // Under a dangling link.
            assert!(msg(&link.join("x")).contains("missing target"), "{}", msg(&link.join("x")));
        }
        for m in [msg(&file), msg(&file.join("sub"))] {
            assert!(m.starts_with("output folder ") && !m.contains('\n'), "{m}");
        }
        // A usable folder is created, and the check leaves nothing in it.
        let fresh = tmp.path().join("a/b");
        check_output_dir(&fresh).unwrap();
        assert!(names(&fresh).is_empty());
    }

    #[test]
    fn a_set_replaces_the_previous_one_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir(dir.join("models")).unwrap();
        install_files(dir, &files(&[("report.json", "{1}"), ("records.csv", "c1"), ("plan.npz", "p1")])).unwrap();
        assert_eq!(names(dir), ["models", "plan.npz", "records.csv", "report.json"]);
        // A later set without plan.npz does not leave the old one beside it.
        install_files(dir, &files(&[("report.json", "{2}"), ("records.csv", "c2")])).unwrap();
        assert_eq!(names(dir), ["models", "records.csv", "report.json"]);
        assert_eq!(std::fs::read_to_string(dir.join("report.json")).unwrap(), "{2}");
    }

    #[test]
    fn a_failed_write_leaves_no_half_set_and_no_staging() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        install_files(dir, &files(&[("report.json", "old"), ("records.csv", "old")])).unwrap();
        // A folder where report.html goes: the set cannot be installed.
        std::fs::create_dir(dir.join("report.html")).unwrap();
        let e = install_files(dir, &files(&[("report.json", "new"), ("records.csv", "new"), ("report.html", "h")]))
            .unwrap_err();
        assert!(e.to_string().contains("report.html is a folder"), "{e}");
        // No staging folder, no report.json that could pass for a result, nothing of the new set.
        assert_eq!(names(dir), ["report.html"]);
    }

    #[test]
    fn preparing_removes_only_the_listed_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for n in ["report.json", "records.csv", "report.html", "notes.txt"] {
            std::fs::write(dir.join(n), "old").unwrap();
        }
        prepare_output_dir(dir, REPORT_FILES).unwrap();
        assert_eq!(names(dir), ["notes.txt"]);
    }
}
