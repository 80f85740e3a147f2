//! Go sync primitives (placeholder until the gmp-sync issue lands).
