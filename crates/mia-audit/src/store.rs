//! The artifact store: each trained model's outputs, on disk, under a content key.
//!
//! A model's key is the SHA-256 of everything its outputs depend on — the data files'
//! fingerprints, the table schema, the fitted encoding, the learner and its parameters,
//! the exact training rows, the fit seed and the model's index in the plan — so a rerun
//! of the same config finds the outputs of every model that finished and trains only the
//! rest, and a changed config can never pick up stale outputs.
//!
//! Outputs are stored as `<key>.npy` (float64 logits, one row per table row). Each file is
//! written under a temporary name in the same folder and renamed into place, so a run
//! killed at any instant (even `kill -9`) leaves either the whole file or none; leftover
//! temporary files are ignored and overwritten. A file that exists but does not load with
//! the expected shape is treated as missing and rewritten.
//!
//! A target behind an HTTP endpoint also leaves its answers, one file per request under
//! `http/`, named by the SHA-256 of the request (endpoint and body): a run stopped by a
//! failing server resumes from the batches that were answered.

use ndarray::Array2;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A folder of model outputs.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    dir: PathBuf,
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder, then rename);
/// on failure the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Hex SHA-256 of a byte string.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl ArtifactStore {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> std::io::Result<ArtifactStore> {
        std::fs::create_dir_all(dir)?;
        Ok(ArtifactStore { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.npy"))
    }

    /// The stored outputs under `key`, if present and of shape `shape`.
    pub fn load(&self, key: &str, shape: (usize, usize)) -> Option<Array2<f64>> {
        let path = self.path(key);
        let file = std::fs::File::open(&path).ok()?;
        let a: Array2<f64> = ndarray_npy::ReadNpyExt::read_npy(std::io::BufReader::new(file)).ok()?;
        (a.dim() == shape && a.iter().all(|v| v.is_finite())).then_some(a)
    }

    /// The cache of an HTTP target's answers, in `http/` (created now).
    pub fn answers(&self) -> std::io::Result<AnswerCache> {
        let dir = self.dir.join("http");
        std::fs::create_dir_all(&dir)?;
        Ok(AnswerCache { dir })
    }

    /// Stores `outputs` under `key`, atomically.
    pub fn save(&self, key: &str, outputs: &Array2<f64>) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(outputs.len() * 8 + 128);
        ndarray_npy::WriteNpyExt::write_npy(outputs, &mut bytes).map_err(std::io::Error::other)?;
        write_atomic(&self.path(key), &bytes)
    }
}

/// An HTTP target's answers by request ([`ArtifactStore::answers`]).
#[derive(Debug, Clone)]
pub struct AnswerCache {
    dir: PathBuf,
}

impl AnswerCache {
    fn path(&self, request: &[u8]) -> PathBuf {
        self.dir.join(format!("{}.json", sha256_hex(request)))
    }
}

impl mia_models::http::ResponseCache for AnswerCache {
    fn get(&self, request: &[u8]) -> Option<Vec<u8>> {
        std::fs::read(self.path(request)).ok()
    }

    fn put(&self, request: &[u8], answer: &[u8]) -> std::io::Result<()> {
        write_atomic(&self.path(request), answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_shape_check() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(&dir.path().join("models")).unwrap();
        let a = Array2::from_shape_fn((3, 2), |(i, j)| i as f64 - 0.5 * j as f64);
        assert!(store.load("k", (3, 2)).is_none());
        store.save("k", &a).unwrap();
        assert_eq!(store.load("k", (3, 2)).unwrap(), a);
        assert!(store.load("k", (2, 3)).is_none());
        // A truncated file (as a crash inside a non-atomic write would leave) is not used.
        std::fs::write(store.dir().join("k.npy"), b"\x93NUMPY").unwrap();
        assert!(store.load("k", (3, 2)).is_none());
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(store.dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn sha256_known_value() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
