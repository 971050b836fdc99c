//! `records.csv`: one row per record with its membership, each attack's score and the
//! record's exposure rank under that attack (1 = most member-like; tied scores share the
//! best rank), so a user can see which individuals are most exposed.

use crate::RecordScores;
use std::io::{self, Write};

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

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// Writes the CSV. Scores are printed in Rust's shortest round-trip form.
pub fn write_records_csv(mut w: impl Write, r: &RecordScores) -> io::Result<()> {
    let ranks: Vec<Vec<usize>> = r.attacks.iter().map(|(_, s)| descending_ranks(s)).collect();
    write!(w, "id,member")?;
    if r.labels.is_some() {
        write!(w, ",label")?;
    }
    for (name, _) in r.attacks {
        write!(w, ",{name}_score,{name}_rank")?;
    }
    writeln!(w)?;
    for i in 0..r.ids.len() {
        write!(w, "{},{}", csv_field(&r.ids[i]), u8::from(r.member[i]))?;
        if let Some(l) = r.labels {
            write!(w, ",{}", l[i])?;
        }
        for (k, (_, s)) in r.attacks.iter().enumerate() {
            write!(w, ",{},{}", s[i], ranks[k][i])?;
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
}
