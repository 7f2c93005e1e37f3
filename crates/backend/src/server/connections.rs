//! The accept loop, for plain HTTP and for TLS alike.
//!
//! Ours rather than `axum::serve`, which gives no access to the connection's IO: every
//! connection is wrapped in [`EnvelopeProtocolErrors`] so that requests hyper refuses itself get
//! the JSON envelope too. Each connection is served by hyper-util's HTTP/1.1-or-HTTP/2 server
//! (the one `axum::serve` runs), with what `axum::serve` gives every request: the peer address
//! as `ConnectInfo<SocketAddr>` (per-IP rate limits) and graceful shutdown that lets requests in
//! flight finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::{Service, ServiceExt};

use super::protocol_errors::EnvelopeProtocolErrors;

/// A client that opens a connection and never finishes the handshake would otherwise hold a task
/// and a socket for as long as it likes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` completes, then stops
/// accepting and returns once every connection has finished its requests in flight (the caller
/// bounds that wait by the grace period).
pub async fn serve<S>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
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
        // Taken before any handshake, so shutdown also waits for (and then closes) connections
        // still shaking hands when it starts.
        let watcher = graceful.watcher();
        let app = app.clone();
        match &tls {
            None => {
                tokio::spawn(serve_connection(tcp, peer, app, watcher));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let stream =
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(stream)) => stream,
                            // Scanners, plain HTTP on the TLS port, clients that distrust the
                            // certificate: that client's problem, not the server's.
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    serve_connection(stream, peer, app, watcher).await;
                });
            }
        }
    }
    // No new connections from here on; those open finish their requests, then close.
    drop(listener);
    graceful.shutdown().await;
}

async fn serve_connection<I, S>(io: I, peer: SocketAddr, app: S, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let service = app.map_request(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.map(Body::new)
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection_with_upgrades(
        TokioIo::new(EnvelopeProtocolErrors::new(io)),
        TowerToHyperService::new(service),
    );
    if let Err(e) = watcher.watch(connection.into_owned()).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
