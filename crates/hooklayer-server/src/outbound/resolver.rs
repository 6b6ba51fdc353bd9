//! The SSRF guard at connect time: a reqwest DNS resolver that refuses blocked addresses.
//!
//! SECURITY: the decision is taken on the addresses the connection will actually use, not on
//! the ones seen at registration, so a host that re-resolves to a private address (DNS
//! rebinding) is refused. When a name resolves to several addresses and ANY of them is
//! blocked, the whole host is refused: dropping the blocked ones would let a name that mixes
//! public and private records keep working on some lookups and not others, and a host that
//! advertises an internal address is suspect anyway.

use hooklayer_core::address::{AddressPolicy, BlockedRange};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Why the guard refused a host; found again by walking the error chain of a failed request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    #[error("could not resolve host {0}")]
    NotFound(String),
    #[error("blocked address {ip} ({})", range.describe())]
    Blocked { ip: IpAddr, range: BlockedRange },
}

/// Resolves with the system resolver (through tokio) and applies the [`AddressPolicy`].
#[derive(Clone)]
pub(crate) struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl GuardedResolver {
    pub(crate) fn new(policy: Arc<AddressPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let addrs = resolve_checked(&policy, name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// All addresses of `host` (port 0: reqwest puts the URL's port in), or why not.
async fn resolve_checked(
    policy: &AddressPolicy,
    host: &str,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let not_found = || ResolveError::NotFound(host.to_owned());
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|_| not_found())?
        .collect();
    if addrs.is_empty() {
        return Err(not_found());
    }
    for addr in &addrs {
        let ip = addr.ip();
        policy
            .check(ip)
            .map_err(|range| ResolveError::Blocked { ip, range })?;
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn localhost_is_refused_by_the_default_policy() {
        let err = resolve_checked(&AddressPolicy::default(), "localhost")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ResolveError::Blocked {
                    range: BlockedRange::Loopback,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn localhost_is_allowed_when_loopback_is_listed() {
        let policy = AddressPolicy::new(vec![
            "127.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ]);
        let addrs = resolve_checked(&policy, "localhost").await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
