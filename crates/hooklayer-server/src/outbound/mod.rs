//! The outbound HTTP client (to be written).
