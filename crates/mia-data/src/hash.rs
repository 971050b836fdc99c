//! SHA-256 and size of input files, computed while they are read.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{DataError, InputFile, error::show_path};

/// A reader that hashes and counts every byte that passes through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Sha256::new(), bytes: 0 }
    }

    /// Reads what is left, then returns the fingerprint of everything read.
    pub(crate) fn finish(mut self, path: &Path) -> Result<InputFile, DataError> {
        io::copy(&mut self, &mut io::sink()).map_err(|e| io_error(path, &e))?;
        let digest = self.hasher.finalize();
        let mut sha256 = String::with_capacity(64);
        for b in digest.iter() {
            sha256.push_str(&format!("{b:02x}"));
        }
        Ok(InputFile { path: path.display().to_string(), sha256, bytes: self.bytes })
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(read) = buf.get(..n) {
            self.hasher.update(read);
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Opens `path`, with a one-line error naming it.
pub(crate) fn open(path: &Path) -> Result<File, DataError> {
    let file = File::open(path).map_err(|e| io_error(path, &e))?;
    match file.metadata() {
        Ok(m) if m.is_dir() => {
            Err(DataError::Io { file: show_path(path), message: "is a directory, expected a file".to_string() })
        }
        _ => Ok(file),
    }
}

/// Fingerprints a whole file in one streaming pass.
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
pub(crate) fn hash_file(path: &Path) -> Result<InputFile, DataError> {
    HashingReader::new(open(path)?).finish(path)
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(crate) fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub(crate) fn io_error(path: &Path, e: &io::Error) -> DataError {
    let message = match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => crate::error::one_line(&e.to_string()),
    };
    DataError::Io { file: show_path(path), message }
}
