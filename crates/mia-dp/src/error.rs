//! Errors: one variant per invalid input, each message naming the parameter and its valid range.

/// Why an accountant call was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DpError {
    /// The Poisson sampling probability is outside (0, 1] (or not a number).
    #[error("sample_rate must be in (0, 1], got {0}")]
    SampleRate(f64),
    /// The noise multiplier (noise standard deviation / L2 sensitivity) is ≤ 0 or not finite.
    #[error("noise_multiplier must be finite and > 0, got {0}")]
    NoiseMultiplier(f64),
    /// Zero steps: nothing was released, there is nothing to account.
    #[error("steps must be >= 1, got 0")]
    Steps,
    /// δ outside (0, 1).
    #[error("delta must be in (0, 1), got {0}")]
    Delta(f64),
    /// No Rényi orders were given.
    #[error("orders must not be empty")]
    EmptyOrders,
    /// A Rényi order is not a finite number in (1, [`crate::MAX_ORDER`]].
    #[error("orders: every order must be finite and in (1, 1e6], got {0}")]
    Order(f64),
    /// An RDP curve whose length differs from its orders'.
    #[error("rdp must have one value per order, got {rdp} values for {orders} orders")]
    RdpLength {
        /// Number of orders.
        orders: usize,
        /// Number of RDP values.
        rdp: usize,
    },
    /// An RDP value that is negative or NaN (+∞ is allowed: no privacy at that order).
    #[error("rdp values must be >= 0 (+inf allowed), got {0}")]
    RdpValue(f64),
    /// The ε target of a noise calibration is ≤ 0 or not finite.
    #[error("target_epsilon must be finite and > 0, got {0}")]
    TargetEpsilon(f64),
    /// Even the largest noise multiplier searched leaves ε above the target (the order grid and
    /// δ put a floor under ε that no amount of noise removes).
    #[error(
        "target_epsilon = {target} is not reachable: epsilon is {epsilon_at_max} even at \
         noise_multiplier = {max_noise_multiplier}"
    )]
    UnreachableEpsilon {
        /// The requested ε.
        target: f64,
        /// ε at the largest noise multiplier searched.
        epsilon_at_max: f64,
        /// The largest noise multiplier searched ([`crate::MAX_NOISE_MULTIPLIER`]).
        max_noise_multiplier: f64,
    },
    /// The target is so loose that even the smallest noise multiplier searched meets it.
    #[error(
        "target_epsilon = {target} is met by every noise_multiplier >= {min_noise_multiplier} \
         (epsilon there is {epsilon_at_min}); ask for a smaller target_epsilon"
    )]
    TargetMetBelowSearchRange {
        /// The requested ε.
        target: f64,
        /// ε at the smallest noise multiplier searched.
        epsilon_at_min: f64,
        /// The smallest noise multiplier searched ([`crate::MIN_NOISE_MULTIPLIER`]).
        min_noise_multiplier: f64,
    },
}
