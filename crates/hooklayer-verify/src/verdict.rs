//! The outcome of checking every scheme a request carries: [`Verified`] or [`Rejected`].

use crate::{LayerError, StandardError};
use std::fmt;

/// A signature scheme hooklayer signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `layer-webhook-signature`.
    Layer,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Standard,
}

impl Scheme {
    /// The scheme's short name: `layer` or `standard`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Layer => "layer",
            Scheme::Standard => "standard",
        }
    }
}

/// A request whose every carried scheme verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    schemes: Vec<Scheme>,
}

impl Verified {
    /// The schemes that verified, Layer first.
    pub fn schemes(&self) -> Vec<Scheme> {
        self.schemes.clone()
    }
}

/// `layer, standard`: the names of the schemes that verified.
impl fmt::Display for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.schemes.iter().map(|s| s.name()).collect();
        f.write_str(&names.join(", "))
    }
}

/// One scheme's failed check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The Layer signature failed.
    Layer(LayerError),
    /// The Standard Webhooks check failed.
    Standard(StandardError),
}

impl Failure {
    /// The scheme that failed.
    pub fn scheme(&self) -> Scheme {
        match self {
            Failure::Layer(_) => Scheme::Layer,
            Failure::Standard(_) => Scheme::Standard,
        }
    }
}

/// `layer: <reason>` or `standard: <reason>`.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Layer(e) => write!(f, "layer: {e}"),
            Failure::Standard(e) => write!(f, "standard: {e}"),
        }
    }
}

/// A refused request: the failure of each scheme that did not verify, Layer first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// One entry per failed scheme; never empty.
    pub failures: Vec<Failure>,
}

/// One failure per line.
impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.failures.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for Rejected {}

/// Accepts when no checked scheme failed and at least one passed. `None` = not checked.
pub(crate) fn decide(
    layer: Option<Result<(), LayerError>>,
    standard: Option<Result<(), StandardError>>,
) -> Result<Verified, Rejected> {
    let mut schemes = Vec::new();
    let mut failures = Vec::new();
    match layer {
        Some(Ok(())) => schemes.push(Scheme::Layer),
        Some(Err(e)) => failures.push(Failure::Layer(e)),
        None => {}
    }
    match standard {
        Some(Ok(())) => schemes.push(Scheme::Standard),
        Some(Err(e)) => failures.push(Failure::Standard(e)),
        None => {}
    }
    if failures.is_empty() && !schemes.is_empty() {
        Ok(Verified { schemes })
    } else {
        Err(Rejected { failures })
    }
}
