//! The simulated driver (being written).
