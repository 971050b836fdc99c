//! The per-record table: one row per record with its id, membership, label, each attack's
//! score and the record's exposure rank under that attack (1 = most member-like; tied
//! scores share the best rank), so a user can see which individuals are most exposed.
//! [`record_columns`] defines the table once; [`write_records_csv`] writes it as
//! `records.csv` for people and spreadsheets, and the caller writes the same columns as
//! `records.parquet` for tools.
//!
//! `records.csv` is safe to open in a spreadsheet: a text cell that a spreadsheet would
//! evaluate as a formula is neutralised ([`spreadsheet_text`], OWASP's CSV-injection rule),
//! so such a cell differs from the exact id. `report.json` and `records.parquet` keep ids
//! exactly.

use crate::RecordScores;
use std::io::{self, Write};

/// One column of the per-record table.
#[derive(Debug, Clone)]
pub enum RecordValues<'a> {
    /// Record ids (text).
    Id(&'a [String]),
    /// Membership.
    Member(&'a [bool]),
    /// Class labels.
    Label(&'a [usize]),
    /// An attack's scores.
    Score(&'a [f64]),
    /// An attack's exposure ranks ([`descending_ranks`]).
    Rank(Vec<usize>),
}

/// A named column of the per-record table.
#[derive(Debug, Clone)]
pub struct RecordColumn<'a> {
    pub name: String,
    pub values: RecordValues<'a>,
}

/// The per-record table's columns, in order: `id`, `member`, `label` (when labels are
/// known), then `{attack}_score` and `{attack}_rank` for each attack.
pub fn record_columns<'a>(r: &RecordScores<'a>) -> Vec<RecordColumn<'a>> {
    let col = |name: &str, values| RecordColumn { name: name.to_string(), values };
    let mut cols = vec![col("id", RecordValues::Id(r.ids)), col("member", RecordValues::Member(r.member))];
    if let Some(l) = r.labels {
        cols.push(col("label", RecordValues::Label(l)));
    }
    for (name, s) in r.attacks {
        cols.push(col(&format!("{name}_score"), RecordValues::Score(s)));
        cols.push(col(&format!("{name}_rank"), RecordValues::Rank(descending_ranks(s))));
    }
    cols
}

/// Whether `s` is a plain decimal number (`-2`, `+1.5`, `.5`, `1e-3`): a spreadsheet reads
/// it as that number and evaluates nothing, so it is left as is.
fn is_plain_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut n = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// A text cell as written to a CSV meant for spreadsheets (OWASP's CSV-injection rule): a
/// cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return would be evaluated as
/// a formula (`=cmd|' /C calc'!A0`, `-2+3`, `@SUM(A1)`), so it gets a leading single quote,
/// which spreadsheets read as "text follows" and show without it. A plain number such as
/// `-2` or `+1.5` is left as is: it evaluates to itself, and quoting it would change the
/// id that tools reading the CSV see for no protection.
pub fn spreadsheet_text(s: &str) -> std::borrow::Cow<'_, str> {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_number(s);
    if risky { format!("'{s}").into() } else { s.into() }
}

/// Competition ranks ("1224") of `scores`, descending: rank = 1 + number of strictly
/// higher scores.
pub fn descending_ranks(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut rank = vec![0; scores.len()];
    for (pos, &i) in order.iter().enumerate() {
        rank[i] = if pos > 0 && scores[order[pos - 1]] == scores[i] { rank[order[pos - 1]] } else { pos + 1 };
    }
    rank
}

/// A text cell in CSV form: neutralised for spreadsheets ([`spreadsheet_text`]), then
/// quoted when it holds a comma, a quote or a line break.
fn csv_text(s: &str) -> String {
    let s = spreadsheet_text(s);
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.into_owned() }
}

/// Writes the CSV ([`record_columns`]): text cells (ids, and the header) as [`csv_text`],
/// membership as 0/1, scores in Rust's shortest round-trip form.
pub fn write_records_csv(mut w: impl Write, r: &RecordScores) -> io::Result<()> {
    let cols = record_columns(r);
    let header: Vec<String> = cols.iter().map(|c| csv_text(&c.name)).collect();
    writeln!(w, "{}", header.join(","))?;
    for i in 0..r.ids.len() {
        for (k, c) in cols.iter().enumerate() {
            if k > 0 {
                w.write_all(b",")?;
            }
            match &c.values {
                RecordValues::Id(v) => w.write_all(csv_text(&v[i]).as_bytes())?,
                RecordValues::Member(v) => write!(w, "{}", u8::from(v[i]))?,
                RecordValues::Label(v) => write!(w, "{}", v[i])?,
                RecordValues::Score(v) => write!(w, "{}", v[i])?,
                RecordValues::Rank(v) => write!(w, "{}", v[i])?,
            }
        }
        writeln!(w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_share_ties_and_skip() {
        assert_eq!(descending_ranks(&[0.5, 0.9, 0.5, 0.1]), vec![2, 1, 2, 4]);
    }

    #[test]
    fn csv_quotes_awkward_ids() {
        let ids = vec!["a,b".to_string(), "c".to_string()];
        let attacks = vec![("loss".to_string(), vec![-0.25, -1.0])];
        let r = RecordScores { ids: &ids, member: &[true, false], labels: Some(&[0, 1]), attacks: &attacks };
        let mut out = Vec::new();
        write_records_csv(&mut out, &r).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id,member,label,loss_score,loss_rank\n\"a,b\",1,0,-0.25,1\nc,0,1,-1,2\n"
        );
    }

    #[test]
    fn formula_cells_are_neutralised_and_numbers_are_not() {
        for (id, cell) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("=1,2", "\"'=1,2\""),
            ("=\"x\"", "\"'=\"\"x\"\"\""),
            ("\t=1", "'\t=1"),
            ("\r=evil", "\"'\r=evil\""),
            ("-", "'-"),
            ("+", "'+"),
            ("-e5", "'-e5"),
            ("-1e", "'-1e"),
            ("-.", "'-."),
            ("-inf", "'-inf"),
            ("-2", "-2"),
            ("+1.5", "+1.5"),
            ("-.5e-3", "-.5e-3"),
            ("-5.", "-5."),
            ("a=1", "a=1"),
            ("'=1", "'=1"),
            ("é", "é"),
        ] {
            let ids = vec![id.to_string(), "b".to_string()];
            let attacks = vec![("loss".to_string(), vec![-1.5, -0.5])];
            let r = RecordScores { ids: &ids, member: &[true, false], labels: None, attacks: &attacks };
            let mut out = Vec::new();
            write_records_csv(&mut out, &r).unwrap();
            let text = String::from_utf8(out).unwrap();
            // Scores stay numbers, even negative ones.
            assert_eq!(text, format!("id,member,loss_score,loss_rank\n{cell},1,-1.5,2\nb,0,-0.5,1\n"), "{id:?}");
        }
    }

    #[test]
    fn columns_are_defined_once() {
        let ids = vec!["x".to_string(), "y".to_string()];
        let attacks = vec![("loss".to_string(), vec![0.5, 0.5]), ("phi".to_string(), vec![1.0, 2.0])];
        let r = RecordScores { ids: &ids, member: &[true, false], labels: Some(&[1, 0]), attacks: &attacks };
        let names: Vec<String> = record_columns(&r).into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["id", "member", "label", "loss_score", "loss_rank", "phi_score", "phi_rank"]);
        let mut out = Vec::new();
        write_records_csv(&mut out, &r).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().next().unwrap(), names.join(","));
        assert_eq!(text.lines().nth(2).unwrap(), "y,0,0,0.5,1,2,1");
    }
}
