//! HTTPS without a proxy: `server.tls_cert_file` and `server.tls_key_file` (rustls on aws-lc-rs,
//! the crypto library the backend already builds).
//!
//! The accept loop ([`super::connections`]) handshakes each connection in its own task before
//! serving it.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{ConfigError, ServerConfig};

const CERT_KEY: &str = "server.tls_cert_file";
const KEY_KEY: &str = "server.tls_key_file";

/// The TLS acceptor of the configured certificate and key, or `None` when TLS is off.
///
/// A file that cannot be read or used is a [`ConfigError`] naming its key, which the CLI reports
/// as a configuration error (exit 2). Nothing read from the key file is ever put in a message.
pub fn acceptor(config: &ServerConfig) -> anyhow::Result<Option<TlsAcceptor>> {
    let (Some(cert_file), Some(key_file)) = (&config.tls_cert_file, &config.tls_key_file) else {
        // Validation refuses one without the other.
        return Ok(None);
    };
    let certs = read_certificates(cert_file)?;
    let key = read_key(key_file)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            ConfigError::new(
                KEY_KEY,
                format!(
                    "{} cannot serve {}: {e}",
                    key_file.display(),
                    cert_file.display()
                ),
            )
        })?;
    // Browsers and HTTP/2 clients pick h2; everyone else (reqwest here, curl --http1.1) HTTP/1.1.
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(server))))
}

fn read_certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = std::fs::read(file)
        .map_err(|e| ConfigError::new(CERT_KEY, format!("cannot read {}: {e}", file.display())))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::new(CERT_KEY, format!("{}: {e}", file.display())))?;
    if certs.is_empty() {
        return Err(ConfigError::new(
            CERT_KEY,
            format!("{}: no PEM certificate found", file.display()),
        ));
    }
    Ok(certs)
}

fn read_key(file: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let pem = std::fs::read(file)
        .map_err(|e| ConfigError::new(KEY_KEY, format!("cannot read {}: {e}", file.display())))?;
    // The parser's own errors may quote a line of the file: the message stays generic.
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
        ConfigError::new(
            KEY_KEY,
            format!(
                "{}: no PEM private key found (PKCS#8, PKCS#1 or SEC1)",
                file.display()
            ),
        )
    })
}
