//! The outbound HTTP client: the one way hooklayer talks to webhook targets, for the
//! verification handshake and for deliveries.
//!
//! - [`OutboundClient`]: reqwest over rustls (ring provider, system roots plus
//!   `HOOKLAYER_TRUSTED_CA`), HTTP/1.1 only with a keep-alive pool per host, no redirects, no
//!   proxy, and one total timeout per request (connect + headers + body).
//! - SSRF guard: `resolver` judges every resolved address at connect time; literal IP hosts,
//!   which reqwest connects to without asking a resolver, are judged here before sending.
//! - [`OutboundError`]: short, secret-free texts for `status_reason` and the attempt log.
//! - [`verification`]: the verification handshake (SPEC §4).

mod error;
mod resolver;
pub(crate) mod tls;
pub mod verification;

pub use error::{describe_status, format_duration, OutboundBuildError, OutboundError};

use bytes::Bytes;
use hooklayer_core::address::AddressPolicy;
use http::{header::RETRY_AFTER, HeaderMap, StatusCode};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// How much of a response body is kept; the rest is never read.
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// Settings of the outbound client, taken from the service configuration.
#[derive(Clone, Debug)]
pub struct OutboundConfig {
    /// `HOOKLAYER_DELIVERY_TIMEOUT`: total time for one request, body included.
    pub timeout: Duration,
    /// `HOOKLAYER_TRUSTED_CA`: PEM roots trusted in addition to the system roots.
    pub trusted_ca_pem: Option<Vec<u8>>,
    /// `HOOKLAYER_ALLOW_HTTP_TARGETS`
    pub allow_http: bool,
    /// `HOOKLAYER_ALLOW_TARGETS`: which private ranges may be reached anyway.
    pub addresses: AddressPolicy,
    /// Idle keep-alive connections kept per host.
    pub max_idle_per_host: usize,
}

/// What a target answered. Only the head of the body is kept: deliveries ignore it and the
/// verification challenge is 40 characters.
#[derive(Clone, Debug)]
pub struct OutboundResponse {
    pub status: StatusCode,
    /// At most [`MAX_RESPONSE_BODY`] bytes; reading stops there.
    pub body: Vec<u8>,
    /// The raw `Retry-After` header, when present and printable.
    pub retry_after: Option<String>,
}

/// The HTTP client for targets. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct OutboundClient {
    http: reqwest::Client,
    timeout: Duration,
    allow_http: bool,
    addresses: Arc<AddressPolicy>,
}

impl OutboundClient {
    /// Builds the client; fails only on a bad trusted-CA bundle or TLS setup.
    pub fn new(config: &OutboundConfig) -> Result<Self, OutboundBuildError> {
        let tls = tls::client_config(config.trusted_ca_pem.as_deref())?;
        let addresses = Arc::new(config.addresses.clone());
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            // SECURITY: every host name is resolved by the guard, which refuses blocked
            // addresses at connect time, so DNS rebinding after registration does not help.
            .dns_resolver(resolver::GuardedResolver::new(addresses.clone()))
            // SECURITY: a redirect could point anywhere (and a 3xx is a failure per the spec);
            // an ambient proxy would bypass the address guard.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .https_only(!config.allow_http)
            .http1_only()
            .pool_max_idle_per_host(config.max_idle_per_host)
            .timeout(config.timeout)
            .build()
            .map_err(|e| OutboundBuildError::Client(e.without_url().to_string()))?;
        Ok(Self {
            http,
            timeout: config.timeout,
            allow_http: config.allow_http,
            addresses,
        })
    }

    /// The configured total timeout per request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `POST url` with the given headers and body.
    pub async fn post(
        &self,
        url: &Url,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<OutboundResponse, OutboundError> {
        self.check_target(url)?;
        let request = self.http.post(url.clone()).headers(headers).body(body);
        self.send(request).await
    }

    /// `GET url` with the given headers.
    pub async fn get(
        &self,
        url: &Url,
        headers: HeaderMap,
    ) -> Result<OutboundResponse, OutboundError> {
        self.check_target(url)?;
        let request = self.http.get(url.clone()).headers(headers);
        self.send(request).await
    }

    /// Refuses what must not be sent at all: a disallowed scheme, or a literal IP host that
    /// the policy blocks.
    fn check_target(&self, url: &Url) -> Result<(), OutboundError> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(OutboundError::HttpNotAllowed),
            other => {
                return Err(OutboundError::Connection(format!(
                    "unsupported scheme {other}"
                )))
            }
        }
        // SECURITY: reqwest connects to a literal IP host without calling the resolver, so the
        // guard in `resolver` never sees it; judge it here. `url` has already normalised every
        // IPv4 spelling, and the policy judges IPv4-mapped IPv6 as IPv4.
        let ip = match url.host() {
            Some(Host::Domain(_)) => return Ok(()),
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            None => return Err(OutboundError::Connection("the URL has no host".to_owned())),
        };
        self.addresses
            .check(ip)
            .map_err(|range| OutboundError::Blocked { ip, range })
    }

    /// Sends and reads the head of the body, all under the one total timeout.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<OutboundResponse, OutboundError> {
        let exchange = async {
            let response = request.send().await?;
            read_response(response).await
        };
        // reqwest's own `timeout` covers the same span; this outer bound makes the total
        // explicit and maps both to the same error.
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(err)) => Err(error::classify(&err, self.timeout)),
            Err(_elapsed) => Err(OutboundError::Timeout(self.timeout)),
        }
    }
}

/// Reads the status, `Retry-After` and at most [`MAX_RESPONSE_BODY`] bytes of the body.
async fn read_response(
    mut response: reqwest::Response,
) -> Result<OutboundResponse, reqwest::Error> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    // A large or endless body must not cost memory or time: stop at the cap. The connection
    // is then dropped instead of going back to the pool, which is the right trade.
    while body.len() < MAX_RESPONSE_BODY {
        let Some(chunk) = response.chunk().await? else {
            break;
        };
        let take = chunk.len().min(MAX_RESPONSE_BODY - body.len());
        body.extend_from_slice(&chunk[..take]);
    }
    Ok(OutboundResponse {
        status,
        body,
        retry_after,
    })
}
