//! Go channels and `select!` (placeholder until the gmp-chan issue lands).
