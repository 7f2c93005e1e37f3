//! HTTPS without a proxy: `server.tls_cert_file` and `server.tls_key_file` (rustls on aws-lc-rs,
//! the crypto library the backend already builds).
//!
//! `axum::serve` only takes plain TCP, so with TLS on the accept loop is ours: each connection is
//! handshaken in its own task, then served by hyper-util's HTTP/1.1-or-HTTP/2 server (the same
//! server `axum::serve` runs), with what the plain path gives every request: the peer address as
//! `ConnectInfo<SocketAddr>` (per-IP rate limits) and graceful shutdown that lets requests in
//! flight finish.

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tower::{Service, ServiceExt};

use crate::config::{ConfigError, ServerConfig};

const CERT_KEY: &str = "server.tls_cert_file";
const KEY_KEY: &str = "server.tls_key_file";

/// A client that opens a connection and never finishes the handshake would otherwise hold a task
/// and a socket for as long as it likes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Serves `app` over TLS on `listener` until `shutdown` completes, then stops accepting and
/// returns once every connection has finished its requests in flight (the caller bounds that
/// wait by the grace period).
pub async fn serve<S>(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: S,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin (as
                    // `axum::serve` does), and keep serving the connections already open.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Taken before the handshake, so shutdown also waits for (and then closes) connections
        // still shaking hands when it starts.
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                // Scanners, plain HTTP on the TLS port, clients that distrust the certificate:
                // that client's problem, not the server's.
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let service = app.map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(tls),
                TowerToHyperService::new(service),
            );
            if let Err(e) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    // No new connections from here on; those open finish their requests, then close.
    drop(listener);
    graceful.shutdown().await;
}
