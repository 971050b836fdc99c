//! The Rényi orders α at which the accountant evaluates RDP before converting to (ε, δ).
//!
//! ε is a minimum over the orders, so a coarser grid can only give a larger (looser) ε; the two
//! grids below are the defaults of the two libraries the accountant is checked against, built
//! with the same floating-point operations (`1 + x / 10`) so that the orders are bit-identical.

/// Number of orders in [`DP_ACCOUNTING_ORDERS`].
pub const DP_ACCOUNTING_ORDER_COUNT: usize = 99 + 53 + 4;

/// Number of orders in [`OPACUS_ORDERS`].
pub const OPACUS_ORDER_COUNT: usize = 99 + 52;

/// Google dp_accounting 0.6.0 `rdp_privacy_accountant.DEFAULT_RDP_ORDERS`:
/// 1.1, 1.2, …, 10.9, then the integers 11, …, 63, then 128, 256, 512, 1024.
pub const DP_ACCOUNTING_ORDERS: [f64; DP_ACCOUNTING_ORDER_COUNT] = dp_accounting_orders();

/// Opacus 1.6.0 `RDPAccountant.DEFAULT_ALPHAS`: 1.1, 1.2, …, 10.9, then the integers 12, …, 63
/// (11 is not in it).
pub const OPACUS_ORDERS: [f64; OPACUS_ORDER_COUNT] = opacus_orders();

/// Writes 1 + x/10 for x = 1..=99 into the start of `orders`.
const fn tenths(mut orders: [f64; DP_ACCOUNTING_ORDER_COUNT]) -> [f64; DP_ACCOUNTING_ORDER_COUNT] {
    let mut x = 1;
    while x < 100 {
        orders[x - 1] = 1.0 + x as f64 / 10.0;
        x += 1;
    }
    orders
}

const fn dp_accounting_orders() -> [f64; DP_ACCOUNTING_ORDER_COUNT] {
    let mut orders = tenths([0.0; DP_ACCOUNTING_ORDER_COUNT]);
    let mut integer = 11;
    while integer < 64 {
        orders[99 + integer - 11] = integer as f64;
        integer += 1;
    }
    orders[152] = 128.0;
    orders[153] = 256.0;
    orders[154] = 512.0;
    orders[155] = 1024.0;
    orders
}

const fn opacus_orders() -> [f64; OPACUS_ORDER_COUNT] {
    let shared = tenths([0.0; DP_ACCOUNTING_ORDER_COUNT]);
    let mut orders = [0.0; OPACUS_ORDER_COUNT];
    let mut i = 0;
    while i < 99 {
        orders[i] = shared[i];
        i += 1;
    }
    let mut integer = 12;
    while integer < 64 {
        orders[99 + integer - 12] = integer as f64;
        integer += 1;
    }
    orders
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_have_the_documented_shape() {
        assert_eq!(DP_ACCOUNTING_ORDERS[0], 1.1);
        assert_eq!(DP_ACCOUNTING_ORDERS[98], 10.9);
        assert_eq!(DP_ACCOUNTING_ORDERS[99], 11.0);
        assert_eq!(DP_ACCOUNTING_ORDERS[151], 63.0);
        assert_eq!(DP_ACCOUNTING_ORDERS[155], 1024.0);
        assert_eq!(OPACUS_ORDERS[99], 12.0);
        assert_eq!(OPACUS_ORDERS[150], 63.0);
        assert!(DP_ACCOUNTING_ORDERS.windows(2).all(|w| w[0] < w[1]));
        assert!(OPACUS_ORDERS.windows(2).all(|w| w[0] < w[1]));
    }
}
