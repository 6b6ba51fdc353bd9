//! The rustls client configuration for targets: ring provider, the system roots plus every
//! certificate of `HOOKLAYER_TRUSTED_CA`, ALPN `http/1.1` only.

use super::OutboundBuildError;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::sync::Arc;

/// Builds the TLS configuration; a bad trusted-CA bundle is an error naming the problem.
pub(crate) fn client_config(
    trusted_ca_pem: Option<&[u8]>,
) -> Result<ClientConfig, OutboundBuildError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    // Missing or unreadable system roots are not fatal: a deployment may trust only its own
    // CA. Say so, since every public target will then fail its handshake.
    for error in &native.errors {
        tracing::warn!(%error, "could not load some system root certificates");
    }
    let (_added, ignored) = roots.add_parsable_certificates(native.certs);
    if ignored > 0 {
        tracing::debug!(ignored, "skipped unparsable system root certificates");
    }
    if let Some(pem) = trusted_ca_pem {
        for (index, cert) in parse_pem(pem)?.into_iter().enumerate() {
            roots
                .add(cert)
                .map_err(|e| OutboundBuildError::BadCertificate {
                    index: index + 1,
                    reason: e.to_string(),
                })?;
        }
    }
    if roots.is_empty() {
        tracing::warn!("no trusted root certificates: every TLS handshake with a target will fail");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| OutboundBuildError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Deliveries are HTTP/1.1 only (SPEC §6); do not offer h2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Every `CERTIFICATE` block of a PEM bundle; at least one is required.
fn parse_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, OutboundBuildError> {
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| OutboundBuildError::InvalidPem(e.to_string()))?;
    if certs.is_empty() {
        return Err(OutboundBuildError::NoCertificates);
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        let err = client_config(Some(b"not a pem file")).unwrap_err();
        assert!(matches!(err, OutboundBuildError::NoCertificates), "{err}");
    }

    #[test]
    fn a_certificate_block_with_garbage_inside_is_refused() {
        let pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = client_config(Some(pem)).unwrap_err();
        assert!(
            matches!(err, OutboundBuildError::BadCertificate { index: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn no_bundle_means_system_roots_only() {
        assert!(client_config(None).is_ok());
    }
}
