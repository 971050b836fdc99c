//! Record ids read as text: the one rule every reader applies (score files, tables' id
//! column, reference tables). An id must be UTF-8 text without NUL bytes. Decoding bytes
//! that are not UTF-8 lossily would let distinct ids collide (both `a\xff` and `a\xfe`
//! become `a\u{fffd}`) or, worse, match the wrong record; a NUL byte ends the text in C
//! tools and spreadsheets, so an id holding one does not survive a round trip through
//! the report files. Both are rejected with a message that says where the byte is.

use std::fmt;

use crate::error::show_bytes;
use crate::layout::{CellErr, reason};

/// Why some bytes are not a usable id; shown as "a NUL byte at offset 1", "not valid
/// UTF-8: byte 0xff at offset 3" (offsets count bytes from the id's first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdProblem {
    /// A NUL byte at this byte offset.
    Nul(usize),
    /// A byte that does not continue valid UTF-8, at this byte offset.
    NotUtf8 { byte: u8, offset: usize },
}

impl fmt::Display for IdProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            IdProblem::Nul(offset) => write!(f, "a NUL byte at offset {offset}"),
            IdProblem::NotUtf8 { byte, offset } => write!(f, "not valid UTF-8: byte 0x{byte:02x} at offset {offset}"),
        }
    }
}

/// What an id cell must hold, as error messages say it.
pub(crate) const EXPECTED: &str = "a record id of UTF-8 text without NUL bytes";

/// `b` as id text, or why it cannot be one.
pub(crate) fn id_text(b: &[u8]) -> Result<&str, IdProblem> {
    let text = std::str::from_utf8(b).map_err(|e| {
        let offset = e.valid_up_to();
        IdProblem::NotUtf8 { byte: b.get(offset).copied().unwrap_or(0), offset }
    })?;
    match b.iter().position(|&c| c == 0) {
        Some(offset) => Err(IdProblem::Nul(offset)),
        None => Ok(text),
    }
}

/// [`id_text`] as a cell error: the cell as found, then the problem.
pub(crate) fn checked_id(b: &[u8]) -> Result<&str, CellErr> {
    id_text(b).map_err(|p| CellErr::new(EXPECTED, format!("{} ({p})", show_bytes(b)), reason::ID_TEXT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_text_and_names_the_bad_byte() {
        assert_eq!(id_text("a-b é 😀".as_bytes()), Ok("a-b é 😀"));
        assert_eq!(id_text(b"abc\xff"), Err(IdProblem::NotUtf8 { byte: 0xff, offset: 3 }));
        // A truncated multi-byte sequence: the offset is where it starts.
        assert_eq!(id_text(b"ab\xc3"), Err(IdProblem::NotUtf8 { byte: 0xc3, offset: 2 }));
        assert_eq!(id_text(b"a\0b"), Err(IdProblem::Nul(1)));
        let e = checked_id(b"a\0b").unwrap_err();
        assert_eq!(e.found, "\"a\\0b\" (a NUL byte at offset 1)");
        let e = checked_id(b"abc\xff").unwrap_err();
        assert_eq!(e.found, "\"abc\u{fffd}\" (not valid UTF-8: byte 0xff at offset 3)");
    }
}
