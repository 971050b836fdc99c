//! Release gate (being written).
