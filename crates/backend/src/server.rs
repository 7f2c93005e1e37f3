//! Binding, serving and graceful shutdown.
//!
//! [`Application::build`] binds first and reports the chosen address, so tests (and the demo with
//! `--bind 127.0.0.1:0`) can use a free port; [`Application::run_until`] serves until the given
//! future completes, then lets requests in flight finish within the configured grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::ServiceExt;
use axum::extract::Request;
use tokio::net::TcpListener;
use tower::Layer;
use tower::util::MapRequestLayer;

use crate::app::AppState;
use crate::config::{Config, Mode};
use crate::http;
use crate::keys::{Clock, Keyring, RELOAD_INTERVAL};

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Loads the signing keys and binds. A key file the configuration points at but that cannot
    /// be used fails as a [`crate::keys::KeyLoadError::Config`], which the CLI reports like any
    /// configuration error.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// [`Application::build`] with the clock that decides which key signs (tests move it past
    /// a rotation instead of waiting).
    pub async fn build_with_clock(config: Config, clock: Clock) -> anyhow::Result<Self> {
        // Reading (or generating) the keys is file I/O and RSA work: off the async workers.
        let keys = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || Keyring::open(&config, clock))
                .await
                .context("loading the signing keys stopped")??
        };
        let keys = Arc::new(keys);
        let emulator = match config.mode {
            Mode::Demo => Some(crate::demo::emulator(crate::demo::load_seed(&config)?)),
            Mode::Serve => None,
        };
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let local_addr = listener.local_addr()?;
        let state = AppState::new(config, keys, emulator, local_addr)?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        // The listener was bound by `build`; its address cannot be missing.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.config.bind)
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

        let stopping = Arc::new(tokio::sync::Notify::new());
        let notify = stopping.clone();
        let server = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            notify.notify_one();
        });

        tokio::select! {
            result = server => result.context("server failed"),
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
