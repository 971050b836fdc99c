//! Exact k-nearest neighbours between query records and a reference table under the
//! mixed-type [`Distance`].
//!
//! DCR and the nearest-neighbour distance ratio (see [`crate::dcr`]) need, for every query
//! record, its k nearest reference records (k = 1, 2). An audit compares ~10⁵ real records
//! with ~10⁵ synthetic ones, so the engine is built for 10¹⁰ pairs:
//!
//! * **Layout.** Both tables are encoded once: numeric columns scaled and centred as f32
//!   (column-major, NaN = missing), categorical codes re-mapped densely to u16 — so one
//!   mismatch is one 16-bit lane compare instead of a one-hot dot product.
//! * **Order and pruning.** Reference and query records are sorted by their categorical
//!   codes (fewest-level columns first) and then by the widest numeric column, and the
//!   reference is cut into blocks of [`KnnOptions::block_reference`] rows with a bounding
//!   box (numeric min/max, categorical columns constant over the block). Each rayon task owns
//!   a block of [`KnnOptions::block_queries`] sorted queries, visits reference blocks in
//!   order of their box lower bound and skips every (query, block) whose lower bound exceeds
//!   the query's current k-th distance. Memory is O(rows): no query × reference matrix.
//! * **Filter, then exact.** Within a visited block, squared distances are computed in f32
//!   (auto-vectorised; AVX2 where the CPU has it). A rigorous bound on the f32 error
//!   (`D̃ ≤ (1 + g)(√D + E)²` for every pair, derived at the private `Encoded` type: `E`
//!   from the f32 rounding of the scaled values, `g` from summation) tells which rows could still be
//!   at or below the current k-th exact distance; exactly those are recomputed with the f64
//!   reference [`Distance::squared`] and enter a top-k list ordered by (distance, reference
//!   index). So the reported distances are the f64 reference's values (an exact copy is at
//!   exactly 0), ties go to the smallest reference index, and the result does not depend on
//!   the visiting order or the thread count.
//!
//! Duplicate rows are not collapsed: in Adult (and in jittered synthetic data) nearly every
//! row is unique because of `fnlwgt`, so deduplication would cost more than it saves.

use ndarray::Array2;
use rayon::prelude::*;

use crate::distance::{Distance, DistanceError, row};
use crate::mixed::MixedTable;

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnnOptions {
    /// Number of neighbours per query (≥ 1).
    pub k: usize,
    /// Leave-one-out: query `i` never matches reference `i` (for a table against itself).
    pub exclude_self: bool,
    /// Queries per parallel task.
    pub block_queries: usize,
    /// Reference rows per block.
    pub block_reference: usize,
}

impl Default for KnnOptions {
    fn default() -> Self {
        KnnOptions { k: 1, exclude_self: false, block_queries: 64, block_reference: 256 }
    }
}

impl KnnOptions {
    /// `k` neighbours, other options at their defaults.
    pub fn k(k: usize) -> Self {
        KnnOptions { k, ..KnnOptions::default() }
    }
}

/// Why neighbours cannot be found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NnError {
    #[error(transparent)]
    Distance(#[from] DistanceError),
    /// `k` is 0.
    #[error("k must be at least 1")]
    ZeroK,
    /// The reference has fewer candidate rows than `k`.
    #[error("{k} nearest neighbours asked for, but the reference table has only {available} candidate rows")]
    TooFewReference { k: usize, available: usize },
    /// More rows than 32-bit indices address.
    #[error("{rows} rows: the nearest-neighbour engine handles at most 4,294,967,295 rows per table")]
    TooLarge { rows: usize },
    /// `exclude_self` with tables of different lengths.
    #[error("exclude_self needs the query and reference tables to be the same rows ({query} vs {reference} rows)")]
    SelfLengths { query: usize, reference: usize },
}

/// The k nearest reference rows of every query row, nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    /// Distances, queries × k (f64 reference values, square-rooted).
    pub distances: Array2<f64>,
    /// Reference row indices, queries × k.
    pub indices: Array2<usize>,
}

impl Neighbours {
    /// Distance of each query to its nearest reference row.
    pub fn nearest(&self) -> Vec<f64> {
        self.distances.column(0).to_vec()
    }
}

/// Exact k nearest neighbours of every `query` row in `reference` (see the module docs).
pub fn knn(
    dist: &Distance,
    query: &MixedTable,
    reference: &MixedTable,
    opts: &KnnOptions,
) -> Result<Neighbours, NnError> {
    let k = check(dist, query, reference, opts)?;
    let enc = Encoded::new(dist, query, reference, opts.block_reference.max(1));
    let mut order: Vec<u32> = (0..query.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| enc.query_key_cmp(a as usize, b as usize));
    let bq = opts.block_queries.max(1);
    let results: Vec<Vec<TopK>> = order
        .par_chunks(bq)
        .map(|chunk| search_block(&enc, dist, query, reference, chunk, k, opts.exclude_self))
        .collect();
    let n = query.len();
    let mut distances = Array2::zeros((n, k));
    let mut indices = Array2::zeros((n, k));
    for (chunk, tops) in order.chunks(bq).zip(results) {
        for (&qi, top) in chunk.iter().zip(tops) {
            for (j, &(d2, r)) in top.items.iter().enumerate() {
                distances[[qi as usize, j]] = d2.sqrt();
                indices[[qi as usize, j]] = r as usize;
            }
        }
    }
    Ok(Neighbours { distances, indices })
}

/// The same neighbours by a plain double loop over [`Distance::squared`] (slow; for tests and
/// checks of [`knn`]).
pub fn knn_plain(
    dist: &Distance,
    query: &MixedTable,
    reference: &MixedTable,
    opts: &KnnOptions,
) -> Result<Neighbours, NnError> {
    let k = check(dist, query, reference, opts)?;
    let n = query.len();
    let mut distances = Array2::zeros((n, k));
    let mut indices = Array2::zeros((n, k));
    for i in 0..n {
        let mut top = TopK::new(k);
        for r in 0..reference.len() {
            if !(opts.exclude_self && r == i) {
                top.offer(dist.squared(row(query, i), row(reference, r)), r as u32);
            }
        }
        for (j, &(d2, r)) in top.items.iter().enumerate() {
            distances[[i, j]] = d2.sqrt();
            indices[[i, j]] = r as usize;
        }
    }
    Ok(Neighbours { distances, indices })
}

fn check(dist: &Distance, query: &MixedTable, reference: &MixedTable, opts: &KnnOptions) -> Result<usize, NnError> {
    dist.check(query, "query table")?;
    dist.check(reference, "reference table")?;
    if opts.k == 0 {
        return Err(NnError::ZeroK);
    }
    if opts.exclude_self && query.len() != reference.len() {
        return Err(NnError::SelfLengths { query: query.len(), reference: reference.len() });
    }
    let available = reference.len() - usize::from(opts.exclude_self && !reference.is_empty());
    if !query.is_empty() && available < opts.k {
        return Err(NnError::TooFewReference { k: opts.k, available });
    }
    if reference.len() > u32::MAX as usize || query.len() > u32::MAX as usize {
        return Err(NnError::TooLarge { rows: reference.len().max(query.len()) });
    }
    Ok(opts.k)
}

/// The k smallest (squared distance, reference index) pairs seen, in increasing order.
#[derive(Debug, Clone)]
struct TopK {
    k: usize,
    items: Vec<(f64, u32)>,
}

impl TopK {
    fn new(k: usize) -> Self {
        TopK { k, items: Vec::with_capacity(k + 1) }
    }
    fn full(&self) -> bool {
        self.items.len() == self.k
    }
    /// The current k-th squared distance (infinite until k rows are known).
    fn bound(&self) -> f64 {
        if self.full() { self.items[self.k - 1].0 } else { f64::INFINITY }
    }
    fn offer(&mut self, d2: f64, r: u32) {
        let less = |a: &(f64, u32), b: &(f64, u32)| a.0 < b.0 || (a.0 == b.0 && a.1 < b.1);
        let item = (d2, r);
        if self.full() && !less(&item, &self.items[self.k - 1]) {
            return;
        }
        let pos = self.items.iter().position(|x| less(&item, x)).unwrap_or(self.items.len());
        self.items.insert(pos, item);
        self.items.truncate(self.k);
    }
}

/// Numeric bounding box and constant categorical codes of one reference block.
#[derive(Debug, Clone)]
struct BlockBox {
    /// Per numeric column: (min z, max z) over present values (+∞, −∞ when none).
    range: Vec<(f64, f64)>,
    /// Per numeric column: whether some row of the block is missing it / all are.
    any_missing: Vec<bool>,
    all_missing: Vec<bool>,
    /// Per categorical column: the block's code when all its rows share one.
    constant: Vec<Option<u16>>,
}

/// Both tables in the engine's layout, with the f32 error bound.
///
/// Values are `z = (x − centre) / s` (f64, then rounded to f32). Let `M_j` be the largest
/// |z| in numeric column j over both tables. Each stored z is within `(2⁻²⁴ + 2⁻⁵¹) M_j` of
/// the exact value, so an f32 difference `d̃_j` is within `e_j = 2⁻²¹ M_j` of the exact
/// `d_j = (x_j(a) − x_j(b)) / s_j` (≈ 4.03 · 2⁻²⁴ M_j, a factor 2 to spare). By Minkowski's
/// inequality, `Σ_j (|d_j| + e_j)² ≤ (√D_num + E)²` with `E = √Σ_j e_j²`; squaring, rounding
/// the missing and mismatch costs to f32 and summing the p + 1 non-negative terms in f32
/// add relative errors, bounded with the f64 reference's own by `g = (p + 6) · 2⁻²²`. So for
/// every pair `D̃ ≤ (1 + g)(√D + E)² + p · 2⁻¹²⁶` (the last term: f32 underflow), and a row
/// can tie or beat the current k-th distance `D_k` only if `D̃` is at most that bound at
/// `D = D_k`. The bound is relative to the distance itself, not to the columns' magnitude.
struct Encoded {
    p: usize,
    q: usize,
    m: usize,
    block: usize,
    /// Reference rows in engine order → original index.
    ref_orig: Vec<u32>,
    /// Column-major f32 z values of the sorted reference (column j at `j * m`).
    ref_num: Vec<f32>,
    /// Column-major dense codes of the sorted reference.
    ref_cat: Vec<u16>,
    ref_has_missing: Vec<bool>,
    boxes: Vec<BlockBox>,
    /// Row-major f32 z values and dense codes of the queries (original order).
    query_num: Vec<f32>,
    query_z: Vec<f64>,
    query_cat: Vec<u16>,
    /// Sort key columns: categorical columns by level count, then the widest numeric column.
    cat_order: Vec<usize>,
    key_numeric: Option<usize>,
    missing_cost: Vec<f64>,
    missing_cost32: Vec<f32>,
    mismatch_cost: f64,
    mismatch_cost32: f32,
    /// Error bound terms `E`, `g` and the underflow term (see the type docs); `filter` false
    /// when they are not usable.
    diff_err: f64,
    rel_err: f64,
    underflow: f64,
    filter: bool,
    /// Bound on the f64 rounding of z differences in the box lower bounds (√ scale).
    lb_err: f64,
    avx2: bool,
}

impl Encoded {
    fn new(dist: &Distance, query: &MixedTable, reference: &MixedTable, block: usize) -> Encoded {
        let (p, q, m, n) = (dist.n_numeric(), dist.n_categorical, reference.len(), query.len());
        let centre: Vec<f64> = (0..p)
            .map(|j| {
                let c = 0.5 * (dist.fit_min[j] + dist.fit_max[j]);
                if c.is_finite() { c } else { 0.0 }
            })
            .collect();
        let z = |x: f64, j: usize| (x - centre[j]) / dist.scale[j];
        // Dense codes over both tables: sorted distinct codes of each column.
        let mut dict: Vec<Vec<u32>> = Vec::with_capacity(q);
        for kc in 0..q {
            let mut v: Vec<u32> =
                reference.categorical.column(kc).iter().chain(query.categorical.column(kc).iter()).copied().collect();
            v.sort_unstable();
            v.dedup();
            dict.push(v);
        }
        // A column with more than 65,536 distinct codes folds codes together: equal folded codes
        // may hide a mismatch, which only lowers D̃, so the filter stays safe.
        let dense = |kc: usize, c: u32| (dict[kc].binary_search(&c).unwrap_or(0) % 65_536) as u16;

        // Categorical columns lead the sort only when a mismatch costs something.
        let mut cat_order: Vec<usize> = if dist.mismatch_cost > 0.0 { (0..q).collect() } else { Vec::new() };
        cat_order.sort_by_key(|&kc| (dict[kc].len(), kc));
        let mut m_abs = vec![0.0f64; p];
        let mut spread = vec![(f64::INFINITY, f64::NEG_INFINITY); p];
        let mut query_num = vec![0f32; n * p];
        let mut query_z = vec![0f64; n * p];
        for i in 0..n {
            for j in 0..p {
                let x = query.numeric[[i, j]];
                let zz = if x.is_nan() { f64::NAN } else { z(x, j) };
                query_z[i * p + j] = zz;
                query_num[i * p + j] = zz as f32;
                if !zz.is_nan() {
                    m_abs[j] = m_abs[j].max((zz as f32).abs() as f64);
                }
            }
        }
        let mut query_cat = vec![0u16; n * q];
        for i in 0..n {
            for kc in 0..q {
                query_cat[i * q + kc] = dense(kc, query.categorical[[i, kc]]);
            }
        }
        // Reference z values (f64) to sort and box, then f32 column-major.
        let mut ref_z = vec![0f64; m * p];
        let mut ref_has_missing = vec![false; p];
        for r in 0..m {
            for j in 0..p {
                let x = reference.numeric[[r, j]];
                let zz = if x.is_nan() { f64::NAN } else { z(x, j) };
                ref_z[r * p + j] = zz;
                if zz.is_nan() {
                    ref_has_missing[j] = true;
                } else {
                    m_abs[j] = m_abs[j].max((zz as f32).abs() as f64);
                    spread[j] = (spread[j].0.min(zz), spread[j].1.max(zz));
                }
            }
        }
        let key_numeric = (0..p)
            .filter(|&j| spread[j].1 > spread[j].0)
            .max_by(|&a, &b| (spread[a].1 - spread[a].0).total_cmp(&(spread[b].1 - spread[b].0)).then(b.cmp(&a)));
        let ref_codes = |r: usize, kc: usize| dense(kc, reference.categorical[[r, kc]]);
        let mut ref_orig: Vec<u32> = (0..m as u32).collect();
        ref_orig.sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            cat_order
                .iter()
                .map(|&kc| ref_codes(a, kc).cmp(&ref_codes(b, kc)))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| match key_numeric {
                    Some(j) => ref_z[a * p + j].total_cmp(&ref_z[b * p + j]),
                    None => std::cmp::Ordering::Equal,
                })
                .then(a.cmp(&b))
        });
        let mut ref_num = vec![0f32; m * p];
        let mut ref_cat = vec![0u16; m * q];
        for (pos, &r) in ref_orig.iter().enumerate() {
            let r = r as usize;
            for j in 0..p {
                ref_num[j * m + pos] = ref_z[r * p + j] as f32;
            }
            for kc in 0..q {
                ref_cat[kc * m + pos] = ref_codes(r, kc);
            }
        }
        let mut boxes = Vec::with_capacity(m.div_ceil(block));
        for start in (0..m).step_by(block) {
            let end = (start + block).min(m);
            let mut b = BlockBox {
                range: vec![(f64::INFINITY, f64::NEG_INFINITY); p],
                any_missing: vec![false; p],
                all_missing: vec![true; p],
                constant: Vec::with_capacity(q),
            };
            for &r in &ref_orig[start..end] {
                for j in 0..p {
                    let zz = ref_z[r as usize * p + j];
                    if zz.is_nan() {
                        b.any_missing[j] = true;
                    } else {
                        b.all_missing[j] = false;
                        b.range[j] = (b.range[j].0.min(zz), b.range[j].1.max(zz));
                    }
                }
            }
            for kc in 0..q {
                let col = &ref_cat[kc * m + start..kc * m + end];
                b.constant.push(if col.iter().all(|&c| c == col[0]) { Some(col[0]) } else { None });
            }
            boxes.push(b);
        }
        let sum_m2: f64 = m_abs.iter().map(|a| a * a).sum();
        let diff_err = sum_m2.sqrt() * 2f64.powi(-21);
        let rel_err = (p as f64 + 6.0) * 2f64.powi(-22);
        // The bound needs every term finite in f32 with room to spare.
        let filter = m_abs.iter().all(|&a| a < 1e15)
            && dist.missing_cost.iter().all(|&c| c < 1e30)
            && dist.mismatch_cost * (q as f64) < 1e30;
        Encoded {
            p,
            q,
            m,
            block,
            ref_orig,
            ref_num,
            ref_cat,
            ref_has_missing,
            boxes,
            query_num,
            query_z,
            query_cat,
            cat_order,
            key_numeric,
            missing_cost: dist.missing_cost.clone(),
            missing_cost32: dist.missing_cost.iter().map(|&c| c as f32).collect(),
            mismatch_cost: dist.mismatch_cost,
            mismatch_cost32: dist.mismatch_cost as f32,
            diff_err,
            rel_err,
            underflow: p as f64 * 2f64.powi(-126),
            filter,
            lb_err: sum_m2.sqrt() * 2f64.powi(-48),
            avx2: has_avx2(),
        }
    }

    /// Query order: the reference's sort key, so that a task's queries share blocks.
    fn query_key_cmp(&self, a: usize, b: usize) -> std::cmp::Ordering {
        let q = self.q;
        self.cat_order
            .iter()
            .map(|&kc| self.query_cat[a * q + kc].cmp(&self.query_cat[b * q + kc]))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| match self.key_numeric {
                Some(j) => self.query_z[a * self.p + j].total_cmp(&self.query_z[b * self.p + j]),
                None => std::cmp::Ordering::Equal,
            })
            .then(a.cmp(&b))
    }

    /// A lower bound on the squared distance of query `i` to any row of block `b`, lowered
    /// for the f64 rounding of the z values it is computed from (each gap is within
    /// ~2⁻⁵¹ M_j of the exact one; by Minkowski, √LB moves by at most `lb_err`).
    fn lower_bound(&self, i: usize, b: &BlockBox) -> f64 {
        let lb = self.raw_lower_bound(i, b);
        let root = (lb.sqrt() - self.lb_err).max(0.0);
        root * root * (1.0 - 1e-12)
    }

    fn raw_lower_bound(&self, i: usize, b: &BlockBox) -> f64 {
        let mut lb = 0.0;
        for j in 0..self.p {
            let zq = self.query_z[i * self.p + j];
            let c = self.missing_cost[j];
            if zq.is_nan() {
                if !b.any_missing[j] {
                    lb += c;
                }
            } else if b.all_missing[j] {
                lb += c;
            } else {
                let (lo, hi) = b.range[j];
                let gap = (lo - zq).max(zq - hi).max(0.0);
                lb += if b.any_missing[j] { (gap * gap).min(c) } else { gap * gap };
            }
        }
        for kc in 0..self.q {
            if let Some(code) = b.constant[kc]
                && code != self.query_cat[i * self.q + kc]
            {
                lb += self.mismatch_cost;
            }
        }
        lb
    }

    /// The f32 threshold at or below which a row may tie or beat the k-th distance `bound`.
    fn threshold(&self, bound: f64) -> f32 {
        if !self.filter || bound.is_infinite() {
            return f32::INFINITY;
        }
        let root = bound.sqrt() + self.diff_err;
        let t = (1.0 + self.rel_err) * root * root + self.underflow;
        let t32 = t as f32;
        if (t32 as f64) < t { t32.next_up() } else { t32 }
    }
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Reusable buffers of one task.
struct Scratch {
    acc: Vec<f32>,
    mismatches: Vec<u16>,
}

/// Neighbours of the queries `chunk` (original indices), in chunk order.
fn search_block(
    enc: &Encoded,
    dist: &Distance,
    query: &MixedTable,
    reference: &MixedTable,
    chunk: &[u32],
    k: usize,
    exclude_self: bool,
) -> Vec<TopK> {
    let nb = enc.boxes.len();
    let mut tops: Vec<TopK> = chunk.iter().map(|_| TopK::new(k)).collect();
    // Lower bounds, query-major, and blocks in order of their smallest bound over the chunk.
    let mut lbs = vec![0f64; chunk.len() * nb];
    let mut block_lb = vec![f64::INFINITY; nb];
    for (qi, &i) in chunk.iter().enumerate() {
        for (b, bx) in enc.boxes.iter().enumerate() {
            let lb = enc.lower_bound(i as usize, bx);
            lbs[qi * nb + b] = lb;
            block_lb[b] = block_lb[b].min(lb);
        }
    }
    let mut blocks: Vec<usize> = (0..nb).collect();
    blocks.sort_by(|&a, &b| block_lb[a].total_cmp(&block_lb[b]).then(a.cmp(&b)));
    let mut scratch = Scratch { acc: vec![0f32; enc.block], mismatches: vec![0u16; enc.block] };
    // A block is skipped when its lower bound exceeds the k-th distance (with room for the
    // reference's own rounding: a tie must still be visited).
    let prune = |top: &TopK| top.bound() * (1.0 + 1e-9);
    for &b in &blocks {
        let worst = tops.iter().map(prune).fold(0.0f64, f64::max);
        if block_lb[b] > worst {
            break;
        }
        let start = b * enc.block;
        let len = (start + enc.block).min(enc.m) - start;
        for (qi, &i) in chunk.iter().enumerate() {
            if lbs[qi * nb + b] > prune(&tops[qi]) {
                continue;
            }
            block_distances(enc, i as usize, start, len, &mut scratch);
            scan(enc, dist, query, reference, i as usize, start, &scratch.acc[..len], &mut tops[qi], exclude_self);
        }
    }
    tops
}

/// Offers the rows of one block whose f32 distance passes the filter, exactly.
#[allow(clippy::too_many_arguments)]
fn scan(
    enc: &Encoded,
    dist: &Distance,
    query: &MixedTable,
    reference: &MixedTable,
    i: usize,
    start: usize,
    acc: &[f32],
    top: &mut TopK,
    exclude_self: bool,
) {
    let is_self = |pos: usize| exclude_self && enc.ref_orig[start + pos] as usize == i;
    let exact = |pos: usize, top: &mut TopK| {
        let r = enc.ref_orig[start + pos];
        top.offer(dist.squared(row(query, i), row(reference, r as usize)), r);
    };
    // Until k rows are known the threshold is infinite: seed with the block's f32-nearest.
    let mut picked = [usize::MAX; 4];
    if !top.full() {
        let want = (top.k - top.items.len()).min(picked.len());
        for slot in 0..want {
            let best = (0..acc.len())
                .filter(|&pos| !is_self(pos) && !picked[..slot].contains(&pos))
                .min_by(|&a, &b| acc[a].total_cmp(&acc[b]).then(a.cmp(&b)));
            if let Some(pos) = best {
                picked[slot] = pos;
                exact(pos, top);
            }
        }
    }
    let mut thr = enc.threshold(top.bound());
    if acc.iter().map(|&d| u32::from(d <= thr)).sum::<u32>() == 0 {
        return;
    }
    for (pos, &d) in acc.iter().enumerate() {
        if d <= thr && !is_self(pos) && !picked.contains(&pos) {
            exact(pos, top);
            thr = enc.threshold(top.bound());
        }
    }
}

/// f32 squared distances of query `i` to reference rows `start .. start + len` (engine order)
/// into `scratch.acc`.
fn block_distances(enc: &Encoded, i: usize, start: usize, len: usize, scratch: &mut Scratch) {
    #[cfg(target_arch = "x86_64")]
    if enc.avx2 {
        // SAFETY: the CPU supports AVX2 (checked at run time in `has_avx2`).
        unsafe { block_distances_avx2(enc, i, start, len, scratch) };
        return;
    }
    block_distances_body(enc, i, start, len, scratch);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn block_distances_avx2(enc: &Encoded, i: usize, start: usize, len: usize, scratch: &mut Scratch) {
    block_distances_body(enc, i, start, len, scratch);
}

/// Column by column over the block, so every inner loop is a plain lane-wise loop the
/// compiler vectorises (f32 for numeric columns, u16 compares for categorical ones).
#[inline(always)]
fn block_distances_body(enc: &Encoded, i: usize, start: usize, len: usize, scratch: &mut Scratch) {
    let acc = &mut scratch.acc[..len];
    acc.fill(0.0);
    for j in 0..enc.p {
        let col = &enc.ref_num[j * enc.m + start..j * enc.m + start + len];
        let x = enc.query_num[i * enc.p + j];
        let c = enc.missing_cost32[j];
        if x.is_nan() {
            for (a, &y) in acc.iter_mut().zip(col) {
                *a += if y.is_nan() { 0.0 } else { c };
            }
        } else if enc.ref_has_missing[j] {
            for (a, &y) in acc.iter_mut().zip(col) {
                let t = (x - y) * (x - y);
                *a += if t.is_nan() { c } else { t };
            }
        } else {
            for (a, &y) in acc.iter_mut().zip(col) {
                *a += (x - y) * (x - y);
            }
        }
    }
    if enc.q > 0 {
        let mism = &mut scratch.mismatches[..len];
        mism.fill(0);
        for kc in 0..enc.q {
            let col = &enc.ref_cat[kc * enc.m + start..kc * enc.m + start + len];
            let x = enc.query_cat[i * enc.q + kc];
            for (n, &y) in mism.iter_mut().zip(col) {
                *n += u16::from(x != y);
            }
        }
        let w2 = enc.mismatch_cost32;
        for (a, &n) in acc.iter_mut().zip(mism.iter()) {
            *a += f32::from(n) * w2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::DistanceConfig;
    use crate::mixed::MISSING;
    use ndarray::Array2;

    fn table(num: Array2<f64>, cat: Array2<u32>) -> MixedTable {
        MixedTable { ids: (0..num.nrows()).map(|i| i.to_string()).collect(), numeric: num, categorical: cat }
    }

    /// A small pseudo-random table with duplicates, missing values and few levels.
    fn random_table(n: usize, seed: u64) -> MixedTable {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        let mut num = Array2::zeros((n, 3));
        let mut cat = Array2::zeros((n, 2));
        for i in 0..n {
            for j in 0..3 {
                num[[i, j]] = if next() % 17 == 0 { f64::NAN } else { (next() % 7) as f64 * 0.5 };
            }
            for kc in 0..2 {
                cat[[i, kc]] = if next() % 13 == 0 { MISSING } else { next() % 3 };
            }
        }
        table(num, cat)
    }

    #[test]
    fn matches_plain_loop_with_ties_and_missing() {
        let (qt, rt) = (random_table(150, 1), random_table(300, 2));
        let d = Distance::fit(&DistanceConfig::default(), &rt).unwrap();
        for k in [1, 2, 3] {
            let opts = KnnOptions { k, block_queries: 7, block_reference: 16, ..KnnOptions::default() };
            assert_eq!(knn(&d, &qt, &rt, &opts).unwrap(), knn_plain(&d, &qt, &rt, &opts).unwrap());
        }
        let opts = KnnOptions { k: 2, exclude_self: true, block_queries: 5, block_reference: 32 };
        assert_eq!(knn(&d, &rt, &rt, &opts).unwrap(), knn_plain(&d, &rt, &rt, &opts).unwrap());
    }

    /// Large magnitudes (raw units after a constant fit column) and differences far below f32
    /// resolution: the filter must still keep the true neighbours.
    #[test]
    fn matches_plain_loop_at_large_magnitudes_and_tiny_gaps() {
        let base = random_table(200, 3);
        let mut q = base.clone();
        let mut r = random_table(400, 4);
        for t in [&mut q, &mut r] {
            for (i, mut row) in t.numeric.rows_mut().into_iter().enumerate() {
                // Offsets below the f32 step at 1e6 (0.0625): rounding can push rows apart.
                row[0] = 1.0e6 + ((i * 7919) % 13) as f64 * 0.0051;
                row[1] = row[1].mul_add(1e-9, 0.25);
            }
        }
        let fit = table(Array2::from_elem((3, 3), 1.0), Array2::zeros((3, 2)));
        let d = Distance::fit(&DistanceConfig::default(), &fit).unwrap();
        assert_eq!(d.scale, vec![1.0, 1.0, 1.0]);
        for k in [1, 2] {
            let opts = KnnOptions { k, block_queries: 9, block_reference: 24, ..KnnOptions::default() };
            assert_eq!(knn(&d, &q, &r, &opts).unwrap(), knn_plain(&d, &q, &r, &opts).unwrap());
        }
    }

    #[test]
    fn top_k_orders_ties_by_index() {
        let mut t = TopK::new(2);
        for (d, r) in [(1.0, 5), (0.5, 9), (0.5, 3), (1.0, 1)] {
            t.offer(d, r);
        }
        assert_eq!(t.items, vec![(0.5, 3), (0.5, 9)]);
    }

    #[test]
    fn errors() {
        let t = random_table(3, 1);
        let d = Distance::fit(&DistanceConfig::default(), &t).unwrap();
        assert_eq!(knn(&d, &t, &t, &KnnOptions::k(0)), Err(NnError::ZeroK));
        let one = t.select(&[0]);
        assert_eq!(knn(&d, &t, &one, &KnnOptions::k(2)), Err(NnError::TooFewReference { k: 2, available: 1 }));
        let opts = KnnOptions { exclude_self: true, ..KnnOptions::default() };
        assert!(matches!(knn(&d, &t, &one, &opts), Err(NnError::SelfLengths { .. })));
    }
}
