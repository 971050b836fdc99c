//! `mia-synth`: membership inference audits of synthetic data.
//!
//! A generator trained on real records (the *members*) released a synthetic table. Given
//! real records that were not in its training set (the *holdout*, from the same
//! population), each attack here gives every real record one score, higher = more likely
//! a member, which `mia-core` evaluates like any other attack.
//!
//! * [`mixed`]: the three tables (members, holdout, synthetic) as one mixed-type matrix
//!   (numeric values and categorical codes in a shared dictionary);
//! * [`distance`] and [`nn`]: a documented mixed-type distance and an exact, blocked,
//!   multi-threaded nearest-neighbour engine over it; [`dcr`]: distance to closest record,
//!   nearest-neighbour distance ratio and the distance attacks;
//! * [`domias`]: the density-ratio attack of van Breugel et al. (2023);
//! * [`generators`] and [`shadow`]: built-in generators and the shadow-generator attack of
//!   Stadler et al. (2022).

pub mod dcr;
pub mod distance;
pub mod domias;
pub mod generators;
pub mod mixed;
pub mod nn;
pub mod shadow;
