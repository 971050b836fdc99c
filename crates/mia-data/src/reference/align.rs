//! Alignment of what was read to the score table: the keep mask's shape, matching records
//! by id or by position, coverage of IN and OUT models per record, and assembling
//! [`ReferenceData`].

use std::collections::HashMap;

use ndarray::Array2;

use super::arrays::dims;
use super::signals::{population, signals_to_phi};
use super::{Block, Coverage, Ids, Mask, Raw, ReferenceData, ReferenceOptions, pos_name};
use crate::error::{bad, one_line, quote};
use crate::{DataError, InputFile, ScoreTable};

pub(super) fn score_file(table: &ScoreTable) -> String {
    table.inputs.first().map_or_else(|| "(arrays in memory)".to_string(), |f| one_line(&f.path))
}

/// Aligns what was read to `table`'s records, checks it, and computes φ.
/// `inputs`: every file read, in order.
pub(super) fn assemble(
    raw: Raw,
    inputs: Vec<InputFile>,
    table: &ScoreTable,
    opts: &ReferenceOptions,
) -> Result<ReferenceData, DataError> {
    let Raw { block, signal, keep, ids, population: arrays } = raw;
    let mut notes = Vec::new();
    let (k, n) = (block.k, table.len());
    let keep = keep_mask(keep, &block)?;
    // Alignment: column cols[i] of the reference arrays for score-table record i.
    let (cols, aligned_by_id) = match &ids {
        Some(ids) => (by_id(ids, &block, table, &mut notes)?, true),
        None => (by_position(&block, table)?, false),
    };
    let keep_al = Array2::from_shape_fn((k, n), |(kk, i)| keep.flags[kk * block.m + cols[i]]);
    check_coverage(&keep_al, &keep.file, table, opts.coverage)?;
    let (phi, outputs, mut saturated) = signals_to_phi(&block, signal, &cols, table, opts.prob_tolerance)?;
    let population = population(arrays, &block, signal, opts.prob_tolerance, &mut saturated)?;
    if saturated > 0 {
        notes.push(format!(
            "{saturated} reference-model values reached the number format's limit (probability 0 or 1, loss 0), so \
             their φ is pinned; supply logits for exact signals"
        ));
    }
    Ok(ReferenceData { signal, phi, keep: keep_al, outputs, population, aligned_by_id, saturated, inputs, notes })
}

/// The keep mask: present, and the same K × M as the signals.
fn keep_mask(keep: Option<Mask>, block: &Block) -> Result<Mask, DataError> {
    let keep = keep.ok_or_else(|| {
        bad(
            &block.file,
            "no keep mask: give --keep FILE.npy (reference models × records, true = the record was in that model's \
             training set), or put a \"keep\" array in the .npz / keep_0 … keep_{K-1} columns in the table",
        )
    })?;
    if (keep.k, keep.m) != (block.k, block.m) {
        return Err(bad(
            &keep.file,
            format!(
                "the keep mask is {} × {} (models × records) but the reference signals in {} are {}",
                keep.k,
                keep.m,
                block.file,
                dims(&block.shape())
            ),
        ));
    }
    Ok(keep)
}

/// The reference record of each score-table record, matched by id; every score-table
/// record must have one, and extra reference records are noted.
fn by_id(ids: &Ids, block: &Block, table: &ScoreTable, notes: &mut Vec<String>) -> Result<Vec<usize>, DataError> {
    let (m, n) = (block.m, table.len());
    if ids.ids.len() != m {
        return Err(bad(
            &ids.file,
            format!(
                "{} record ids but the reference signals in {} have {m} records ({} array)",
                ids.ids.len(),
                block.file,
                dims(&block.shape())
            ),
        ));
    }
    let mut at: HashMap<&str, usize> = HashMap::with_capacity(m);
    for (j, id) in ids.ids.iter().enumerate() {
        if let Some(first) = at.insert(id.as_str(), j) {
            return Err(bad(
                &ids.file,
                format!(
                    "duplicate record id {} at {} and {}: expected unique ids",
                    quote(id),
                    pos_name(&ids.loc, first),
                    pos_name(&ids.loc, j)
                ),
            ));
        }
    }
    let cols: Vec<Option<usize>> = table.ids.iter().map(|id| at.get(id.as_str()).copied()).collect();
    let missing: Vec<usize> = (0..n).filter(|&i| cols[i].is_none()).collect();
    if let Some(&first) = missing.first() {
        return Err(bad(
            &score_file(table),
            format!(
                "record id {} (score-file row {}) is not among the {m} reference record ids in {}; {} of {n} \
                 score-file records are missing from it",
                quote(&table.ids[first]),
                first + 1,
                ids.file,
                missing.len()
            ),
        ));
    }
    if m > n {
        notes.push(format!("{} reference records are not in the score file and were ignored (matched by id)", m - n));
    }
    Ok(cols.into_iter().map(|c| c.unwrap_or(0)).collect())
}

/// Reference record i for score-table record i: the same count, and no rows skipped.
fn by_position(block: &Block, table: &ScoreTable) -> Result<Vec<usize>, DataError> {
    let (m, n) = (block.m, table.len());
    if m != n {
        return Err(bad(
            &block.file,
            format!(
                "the reference signals are {} ({m} records) but the score file {} has {n} records; records align by \
                 position unless reference ids are given (--reference-ids)",
                dims(&block.shape()),
                score_file(table)
            ),
        ));
    }
    if table.n_skipped() > 0 {
        return Err(bad(
            &block.file,
            format!(
                "{} score-file rows were skipped as invalid, so records no longer align by position: give reference \
                 ids (--reference-ids) to match records by id",
                table.n_skipped()
            ),
        ));
    }
    Ok((0..n).collect())
}

/// Errors when a record is IN (OUT) for no model and the attacks need it.
fn check_coverage(keep: &Array2<bool>, file: &str, table: &ScoreTable, need: Coverage) -> Result<(), DataError> {
    let k = keep.nrows();
    let n_in: Vec<usize> = keep.columns().into_iter().map(|c| c.iter().filter(|&&b| b).count()).collect();
    for (side, want, count_of) in [("IN", need.need_in, 0usize), ("OUT", need.need_out, k)] {
        if !want {
            continue;
        }
        // A record lacks the side when its IN count equals `count_of` (0 IN, or K IN = 0 OUT).
        let short: Vec<usize> = (0..n_in.len()).filter(|&i| n_in[i] == count_of).collect();
        if let Some(&first) = short.first() {
            let (other, why) = if side == "IN" {
                (
                    "OUT",
                    "online LiRA and RMIA need at least one IN and one OUT model per record (offline attacks need OUT \
                     only: request them alone, e.g. --attacks lira_offline,rmia_offline)",
                )
            } else {
                (
                    "IN",
                    "LiRA, RMIA (online and offline), Attack R and difficulty calibration need at least one OUT \
                     model per record",
                )
            };
            return Err(bad(
                file,
                format!(
                    "record id {} (score-file row {}) is {side} for none of the {k} reference models ({other} \
                     for all); {} of {} records have no {side} model; {why}",
                    quote(&table.ids[first]),
                    first + 1,
                    short.len(),
                    n_in.len()
                ),
            ));
        }
    }
    Ok(())
}
