//! An emulator of the part of GitHub the SlideRule authenticator uses.
//!
//! GitHub cannot be reached from the build machines, so tests and the demo talk to this instead.
//! It speaks GitHub's real wire formats, so the authenticator's GitHub client works unchanged
//! against it and against github.com: the OAuth web flow (`/login/oauth/authorize`,
//! `/login/oauth/access_token`), the device flow (`/login/device/code`, `/login/device`) and the
//! REST calls `GET /user`, `GET /orgs/{org}/memberships/{username}`, `GET /user/teams` and
//! `GET /user/orgs`. Web and API paths share one root; point both `web_url` and `api_url` at it.
//!
//! [`Emulator::router`] works at the root of its own server and nested under a prefix (the demo
//! mounts it at `/_github/`). Tests steer it with the control methods here or over HTTP under
//! `/_emulator/` (see `control.rs`).

mod api;
mod control;
mod device;
pub mod faults;
mod oauth;
mod pages;
mod respond;
pub mod seed;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{Endpoint, Fault};
pub use seed::{Membership, Seed, SeedError};

use state::{Decision, State, normalize_user_code};

/// Why a control call was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("no seeded GitHub user has the login {0:?}")]
    UnknownUser(String),
    #[error("no device authorization has that user code")]
    UnknownUserCode,
    #[error("the device authorization has expired")]
    DeviceCodeExpired,
    #[error("the device authorization was already approved or denied")]
    DeviceAlreadyDecided,
}

/// The emulator: cheap to clone, every clone sees the same state.
#[derive(Clone)]
pub struct Emulator {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately opaque: the state holds tokens and codes.
        f.debug_struct("Emulator").finish_non_exhaustive()
    }
}

impl Emulator {
    pub fn new(seed: Seed) -> Emulator {
        Emulator {
            state: Arc::new(Mutex::new(State::new(seed))),
        }
    }

    /// Uses a fixed public URL (no trailing slash needed) for `verification_uri`, API `url` fields
    /// and `Link` headers, instead of deriving it from each request's `Host` and mount prefix.
    pub fn with_public_url(self, url: &str) -> Emulator {
        let url = url.trim_end_matches('/').to_owned();
        self.with_state(|state| state.public_url = Some(url));
        self
    }

    pub(crate) fn public_url(&self) -> Option<String> {
        self.with_state(|state| state.public_url.clone())
    }

    /// Runs `f` with the state locked. A panic elsewhere cannot leave the state half-updated in a
    /// way that matters to an emulator, so a poisoned lock is simply taken over.
    pub(crate) fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard: MutexGuard<'_, State> = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// The seed's organization login.
    /// The seed it started from (membership changes made since are not reflected).
    pub fn seed(&self) -> Seed {
        self.with_state(|state| state.seed.clone())
    }

    pub fn org(&self) -> String {
        self.with_state(|state| state.seed.org.clone())
    }

    /// Every route, ready to serve at the root or to nest under a prefix.
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/login/oauth/authorize",
                get(oauth::authorize_get).post(oauth::authorize_post),
            )
            .route("/login/oauth/access_token", post(oauth::access_token))
            .route("/login/device/code", post(device::device_code))
            .route(
                "/login/device",
                get(device::verification_get).post(device::verification_post),
            )
            .route("/user", get(api::user))
            .route("/user/teams", get(api::teams))
            .route("/user/orgs", get(api::orgs))
            .route("/orgs/{org}/memberships/{username}", get(api::membership))
            .route("/avatars/u/{id}", get(api::avatar))
            .merge(control::routes())
            .fallback(api::not_found)
            .with_state(self.clone())
    }

    /// Serves on `listener` until `shutdown` completes, letting requests in flight finish.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Binds `bind` (port 0 picks a free port) and serves in the background until the returned
    /// handle is stopped or dropped.
    pub async fn spawn(&self, bind: SocketAddr) -> std::io::Result<RunningEmulator> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let emulator = self.clone();
        let task = tokio::spawn(async move {
            emulator
                .serve(listener, async {
                    // A dropped sender stops the server as well.
                    let _ = stopped.await;
                })
                .await
        });
        Ok(RunningEmulator {
            addr,
            emulator: self.clone(),
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Changes a user's standing in the seed's organization.
    pub fn set_membership(&self, login: &str, membership: Membership) -> Result<(), Error> {
        self.with_state(|state| {
            let user = state
                .directory
                .user_index(login)
                .ok_or_else(|| Error::UnknownUser(login.to_owned()))?;
            state.memberships[user] = membership;
            Ok(())
        })
    }

    /// Switches on a fault for one endpoint (replacing any earlier one there).
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.with_state(|state| {
            state.faults.insert(endpoint, fault);
        });
    }

    pub fn clear_faults(&self) {
        self.with_state(|state| state.faults.clear());
    }

    /// Approves a pending device authorization for `login`, as the verification page does.
    pub fn approve_device(&self, user_code: &str, login: &str) -> Result<(), Error> {
        self.with_state(|state| {
            let user = state
                .directory
                .user_index(login)
                .ok_or_else(|| Error::UnknownUser(login.to_owned()))?;
            decide_device(state, user_code, Decision::Approved(user))
        })
    }

    /// Denies a pending device authorization, as the verification page's Cancel does.
    pub fn deny_device(&self, user_code: &str) -> Result<(), Error> {
        self.with_state(|state| decide_device(state, user_code, Decision::Denied))
    }

    /// An OAuth token for `login` with scope `read:org`, for tests that need one without a browser.
    pub fn issue_token(&self, login: &str) -> Result<String, Error> {
        self.with_state(|state| {
            let user = state
                .directory
                .user_index(login)
                .ok_or_else(|| Error::UnknownUser(login.to_owned()))?;
            Ok(state.mint_token(user, "read:org".to_owned()))
        })
    }

    /// Moves the emulator's clock forward, so tests can expire codes without sleeping.
    pub fn advance_clock(&self, by: Duration) {
        self.with_state(|state| state.advance_clock(by));
    }
}

/// Records a decision on the pending device authorization with this user code.
pub(crate) fn decide_device(
    state: &mut State,
    user_code: &str,
    decision: Decision,
) -> Result<(), Error> {
    let wanted = normalize_user_code(user_code);
    let now = state.now();
    let grant = state
        .devices
        .values_mut()
        .find(|grant| normalize_user_code(&grant.user_code) == wanted && !wanted.is_empty())
        .ok_or(Error::UnknownUserCode)?;
    if grant.expires_at <= now {
        return Err(Error::DeviceCodeExpired);
    }
    if grant.decision != Decision::Pending {
        return Err(Error::DeviceAlreadyDecided);
    }
    grant.decision = decision;
    Ok(())
}

/// An emulator serving in the background (see [`Emulator::spawn`]).
pub struct RunningEmulator {
    addr: SocketAddr,
    emulator: Emulator,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the value for both `web_url` and `api_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stops serving and waits for requests in flight to finish.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
