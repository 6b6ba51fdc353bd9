//! The bench's own PKI, generated at start: a CA (whose PEM file hooklayer is told to trust via
//! `HOOKLAYER_TRUSTED_CA`) and a leaf for `127.0.0.1`/`localhost` that the receiver serves.
//!
//! Both sides use rustls with the ring provider and its safe defaults (TLS 1.3 preferred), which
//! is what hooklayer's outbound client uses: the raw-capacity client and hooklayer pay the same
//! TLS costs.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// Everything TLS the bench needs.
pub struct Pki {
    /// PEM of the CA certificate, written to a file for `HOOKLAYER_TRUSTED_CA`.
    pub ca_pem: String,
    /// The receiver's config (leaf + chain, HTTP/1.1 ALPN).
    pub server: Arc<rustls::ServerConfig>,
    /// A client config trusting only our CA, for the raw-capacity and API clients.
    pub client: rustls::ClientConfig,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Generates a fresh CA and leaf (ECDSA P-256) and builds both rustls configs.
pub fn generate() -> Result<Pki> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "hooklayer-bench CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)
        .context("generating the bench CA")?;

    let leaf_key = KeyPair::generate()?;
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca)
        .context("signing the receiver certificate")?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
        .context("building the receiver TLS config")?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone())?;
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();

    Ok(Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
        client,
    })
}
