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
use axum::extract::Request;
use tokio::net::TcpListener;
use tower::Layer;
use tower::util::MapRequestLayer;

use crate::app::{AppState, Parts};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Mode};
use crate::http;
use crate::keys::{Keyring, RELOAD_INTERVAL};
use crate::store::{SqliteStore, Store};

pub struct Application {
    listener: TcpListener,
    /// Present when TLS is configured: connections are then handshaken before being served.
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: AppState,
}

impl Application {
    /// Loads the signing keys and binds. A key file the configuration points at but that cannot
    /// be used fails as a [`crate::keys::KeyLoadError::Config`], which the CLI reports like any
    /// configuration error.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// As [`Application::build`], with the clock tests control (lifetimes of codes and refresh
    /// tokens, which key signs after a rotation).
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        Self::build_with(config, clock, None).await
    }

    /// As [`Application::build_with_clock`], with a cloud driver built by the caller instead of
    /// from the configuration (tests give the CloudFormation driver moto's endpoint and
    /// credentials this way).
    pub async fn build_with(
        config: Config,
        clock: Arc<dyn Clock>,
        cloud: Option<Arc<dyn crate::cloud::Cloud>>,
    ) -> anyhow::Result<Self> {
        // Before anything slow: a certificate or key that cannot be used is a configuration error.
        let tls = tls::acceptor(&config.server)?;
        // Reading (or generating) the keys is file I/O and RSA work: off the async workers.
        let keys = {
            let config = config.clone();
            let clock = clock.clone();
            tokio::task::spawn_blocking(move || Keyring::open(&config, clock))
                .await
                .context("loading the signing keys stopped")??
        };
        let keys = Arc::new(keys);
        let emulator = match config.mode {
            Mode::Demo => Some(crate::demo::emulator(crate::demo::load_seed(&config)?)),
            Mode::Serve => None,
        };
        let store = open_store(&config)?;
        let issuer = crate::app::PublicUrls::derive(&config, config.bind).authenticator;
        let cloud = match cloud {
            Some(cloud) => cloud,
            None => {
                crate::cloud::driver::from_config(&config, store.clone(), clock.clone(), &issuer)
                    .await?
            }
        };
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let local_addr = listener.local_addr()?;
        let parts = Parts {
            keys,
            emulator,
            store,
            clock,
            cloud,
        };
        let state = AppState::new(config, parts, local_addr)?;
        // Records and stacks agree, and what is overdue is destroyed, before the first request
        // is served (and before `build` returns); both then repeat in the background.
        crate::provisioner::reconcile::reconcile_logged(&state.provisioner).await;
        crate::provisioner::reaper::sweep(&state).await;
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
        // Picks up `keys rotate|retire` run against the shared data directory; stops (dropped)
        // when serving ends.
        let _reloader = self.state.keys.spawn_reloader(RELOAD_INTERVAL);
        let routing = self.state.host_routing.clone();
        let router = http::router(self.state.clone());
        let app = MapRequestLayer::new(move |request: Request| {
            http::host::route_by_host(routing.as_ref(), request)
        })
        .layer(router);

        // Background work lives exactly as long as the server.
        let housekeeping =
            tokio::spawn(crate::authenticator::housekeeping::run(self.state.clone()));
        let _stop_housekeeping = AbortOnDrop(housekeeping);
        let _stop_reaper = AbortOnDrop(tokio::spawn(crate::provisioner::reaper::run(
            self.state.clone(),
        )));
        let _stop_reconciler = AbortOnDrop(tokio::spawn(crate::provisioner::reconcile::run(
            self.state.clone(),
        )));

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

/// Aborts a background task when the server stops, however it stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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

/// The configured store (`store.url`), or `state.db` in the data directory.
pub fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let path = match &config.store.url {
        Some(url) => std::path::PathBuf::from(url.trim_start_matches("sqlite://")),
        None => config.data_dir.join("state.db"),
    };
    let store = SqliteStore::open(&path)
        .with_context(|| format!("cannot open the store at {}", path.display()))?;
    Ok(Arc::new(store))
}
