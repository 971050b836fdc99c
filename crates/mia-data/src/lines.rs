//! The longest line a text input may have, enforced while the text streams in.
//!
//! A CSV reader buffers a whole record before it can say anything about it, so one
//! enormous line (a 20 MB gzip can hold a 4.5 GB line of zeros) would be held in memory
//! whole. [`LineLimit`] sits under the CSV reader and stops the read with a
//! [`LineTooLong`] error as soon as a line passes [`MAX_LINE_BYTES`], before the line is
//! buffered. Real lines are far shorter: a row of 100,000 numeric features, or a
//! reference table with 1,024 models, is a few MB.

use std::io::{self, Read};

/// The longest line (bytes between line ends, the line end not counted) a text input may
/// have: 64 MiB.
pub const MAX_LINE_BYTES: u64 = 64 << 20;

/// A line longer than the limit; carried inside the `io::Error` the read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("line {line} is longer than {limit} bytes, the longest line this tool reads")]
pub struct LineTooLong {
    /// 1-based physical line (a `\r\n`, a lone `\r` and a lone `\n` each end one line).
    pub line: u64,
    pub limit: u64,
}

impl LineTooLong {
    /// The [`LineTooLong`] an I/O error carries, if any (also through a csv error).
    pub fn of(e: &io::Error) -> Option<LineTooLong> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<LineTooLong>()).copied()
    }

    /// The [`LineTooLong`] a csv read error carries, if any.
    pub fn of_csv(e: &csv::Error) -> Option<LineTooLong> {
        match e.kind() {
            csv::ErrorKind::Io(io) => LineTooLong::of(io),
            _ => None,
        }
    }
}

/// A reader that passes bytes through and fails once a line grows past `limit` bytes.
pub struct LineLimit<R> {
    inner: R,
    limit: u64,
    /// Bytes of the current line so far.
    run: u64,
    /// Line ends seen so far.
    ends: u64,
    prev_cr: bool,
}

impl<R: Read> LineLimit<R> {
    /// `inner` with lines bounded by [`MAX_LINE_BYTES`].
    pub fn new(inner: R) -> Self {
        LineLimit::with_limit(inner, MAX_LINE_BYTES)
    }

    pub fn with_limit(inner: R, limit: u64) -> Self {
        LineLimit { inner, limit, run: 0, ends: 0, prev_cr: false }
    }

    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut rest = buf.get(..n).unwrap_or_default();
        // Segment by segment between line ends, so a long line costs one scan.
        while !rest.is_empty() {
            let end = memchr::memchr2(b'\n', b'\r', rest);
            self.run += end.unwrap_or(rest.len()) as u64;
            if self.run > self.limit {
                let e = LineTooLong { line: self.ends + 1, limit: self.limit };
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            let Some(i) = end else {
                self.prev_cr = false;
                break;
            };
            let b = rest[i];
            // A `\n` right after a `\r` ends the same line.
            if b == b'\r' || !(i == 0 && self.prev_cr) {
                self.ends += 1;
            }
            self.prev_cr = b == b'\r';
            self.run = 0;
            rest = &rest[i + 1..];
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` through a limit of `limit` in chunks of `chunk` bytes.
    fn read(text: &[u8], limit: u64, chunk: usize) -> Result<(), LineTooLong> {
        struct Chunks<'a>(&'a [u8], usize);
        impl Read for Chunks<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = LineLimit::with_limit(Chunks(text, chunk), limit);
        io::copy(&mut r, &mut io::sink()).map(|_| ()).map_err(|e| LineTooLong::of(&e).expect("a LineTooLong"))
    }

    #[test]
    fn lines_up_to_the_limit_pass_and_longer_ones_name_their_line() {
        for chunk in [1, 2, 3, 7, 1 << 16] {
            assert_eq!(read(b"abcd\nefgh\n", 4, chunk), Ok(()), "{chunk}");
            assert_eq!(read(b"abcd", 4, chunk), Ok(()), "{chunk}");
            assert_eq!(read(b"abcde\nx\n", 4, chunk), Err(LineTooLong { line: 1, limit: 4 }), "{chunk}");
            assert_eq!(read(b"ab\ncd\nefghi", 4, chunk), Err(LineTooLong { line: 3, limit: 4 }), "{chunk}");
            // \r\n, a lone \r and a lone \n each end one line (as in csvio::line_at).
            assert_eq!(read(b"a\r\nb\rc\n\nabcdef", 4, chunk), Err(LineTooLong { line: 5, limit: 4 }), "{chunk}");
            assert_eq!(read(b"abcd\r\nabcd\r\n", 4, chunk), Ok(()), "{chunk}");
        }
    }
}
