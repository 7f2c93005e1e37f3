//! Binding, serving and graceful shutdown.
//!
//! [`Application::build`] binds first and reports the chosen address, so tests (and the demo with
//! `--bind 127.0.0.1:0`) can use a free port; [`Application::run_until`] serves until the given
//! future completes, then lets requests in flight finish within the configured grace period.
//! With `server.tls_cert_file` and `server.tls_key_file` it serves HTTPS itself (see [`tls`]).

mod connections;
mod protocol_errors;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::{AppState, Overrides};
use crate::config::Config;
use crate::{http, jobs};

pub struct Application {
    listener: TcpListener,
    /// Present when TLS is configured: connections are then handshaken before being served.
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: AppState,
}

impl Application {
    /// Binds, then builds the application (see [`AppState::build`]) with the address bound as
    /// its own, so `--bind 127.0.0.1:0` gets a free port and URLs that name it. A key file,
    /// certificate or template the configuration points at but that cannot be used fails as a
    /// configuration error, which the CLI reports as such.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, Overrides::default()).await
    }

    /// As [`Application::build`], with the clock or cloud tests control.
    pub async fn build_with(mut config: Config, overrides: Overrides) -> anyhow::Result<Self> {
        // Before anything slow: a certificate or key that cannot be used is a configuration error.
        let tls = tls::acceptor(&config.server)?;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        config.bind = listener.local_addr()?;
        let state = AppState::build(config, overrides).await?;
        // Before the first request is served (and before `build` returns); the jobs then
        // repeat in the background while the server runs.
        jobs::at_start(&state).await;
        Ok(Self {
            listener,
            tls,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        // The listener was bound by `build`; its address cannot be missing.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.config.bind)
    }

    /// `https` when TLS is on, else `http`: how to reach [`Application::local_addr`].
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let grace = Duration::from_secs(self.state.config.server.shutdown_grace_secs);
        let app = http::router(self.state.clone());
        // Background work lives exactly as long as the server.
        let _background = jobs::start(&self.state);

        let stopping = Arc::new(tokio::sync::Notify::new());
        let notify = stopping.clone();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            notify.notify_one();
        };
        let server = connections::serve(self.listener, self.tls, app, signal);

        tokio::select! {
            () = server => Ok(()),
            () = async { stopping.notified().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight after the grace period; stopping");
                Ok(())
            }
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
