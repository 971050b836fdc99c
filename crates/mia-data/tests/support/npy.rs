//! A raw `.npy` (format 1.0) writer for tests, shared by mia-data's and mia-cli's tests
//! (`#[path]`-included). Tests need it, rather than ndarray-npy, to write files that are
//! deliberately wrong: odd dtypes, Fortran order, shapes that disagree with the data.

/// An `.npy` file with the given dtype descriptor, Fortran flag, shape text (e.g. `(3, 2)`,
/// `(5,)`) and raw data bytes.
pub fn raw_npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}
