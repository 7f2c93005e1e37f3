//! Who is signed in, and keeping them signed in.
//!
//! The access token lives in memory only. The rotating refresh token lives in `localStorage`, so a
//! reload or a new tab signs in silently; every use rotates it, so a stolen copy is detected by
//! the authenticator. A timer refreshes shortly before the access token expires, and a 401
//! triggers one refresh; concurrent callers share that one refresh. When the authenticator
//! refuses the refresh token the session has ended: the token is forgotten and the app returns to
//! the landing page, which says so. Sign-out revokes the token family and tells other tabs through
//! the `storage` event.

pub mod jwt;
pub mod pkce;
pub mod signing;
pub mod storage;

use std::sync::Arc;

use futures::FutureExt as _;
use futures::future::{LocalBoxFuture, Shared};
use leptos::prelude::*;
use sliderule_protocol::authenticator::TokenResponse;
use sliderule_protocol::{Claims, Limits, Scope, Scopes, WebConfig};

use crate::api::authenticator::Authorize;
use crate::api::{ApiError, Authenticator};
use crate::time::now_secs;

/// Refresh this long before the access token expires, so no request carries a stale one.
const REFRESH_AHEAD_SECS: i64 = 60;

/// A signed-in person's access token and what it says.
#[derive(Clone, Debug, PartialEq)]
pub struct SignedIn {
    pub access_token: String,
    pub claims: Claims,
    /// When the access token expires, by this browser's clock (`now + expires_in` when issued,
    /// so a skewed clock does not matter).
    pub expires_at: i64,
}

impl SignedIn {
    pub fn is_owner(&self) -> bool {
        self.claims.is_owner()
    }

    pub fn may_provision(&self) -> bool {
        self.claims.may_provision()
    }

    pub fn limits(&self) -> Limits {
        self.claims.limits().unwrap_or(Limits::NONE)
    }

    pub fn scopes(&self) -> Scopes {
        self.claims.scope.unwrap_or_default()
    }
}

/// Where the session stands.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthState {
    /// A refresh token was found and is being exchanged; pages wait.
    Restoring,
    SignedOut,
    SignedIn(Arc<SignedIn>),
}

type RefreshFuture = Shared<LocalBoxFuture<'static, Result<(), ApiError>>>;

/// The session, shared by every page through context. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Session {
    state: RwSignal<AuthState>,
    /// Set when a session ended by itself (refresh refused), until the next sign-in.
    ended: RwSignal<bool>,
    authenticator: StoredValue<Authenticator>,
    client_id: StoredValue<Option<String>>,
    in_flight: StoredValue<Option<RefreshFuture>, LocalStorage>,
    timer: StoredValue<Option<TimeoutHandle>, LocalStorage>,
}

impl Session {
    /// Creates the session for this configuration and restores it from `localStorage` when a
    /// refresh token is there.
    pub fn start(config: &WebConfig) -> Session {
        let has_token = storage::get(storage::REFRESH_TOKEN).is_some();
        let session = Session {
            state: RwSignal::new(if has_token {
                AuthState::Restoring
            } else {
                AuthState::SignedOut
            }),
            ended: RwSignal::new(false),
            authenticator: StoredValue::new(Authenticator::new(config.authenticator_url.clone())),
            client_id: StoredValue::new(config.client_id.clone()),
            in_flight: StoredValue::new_local(None),
            timer: StoredValue::new_local(None),
        };
        if has_token {
            leptos::task::spawn_local(async move {
                let _ = session.refresh().await;
            });
        }
        session.follow_other_tabs();
        session
    }

    /// The current state (tracked).
    pub fn state(&self) -> AuthState {
        self.state.get()
    }

    /// The signed-in person (tracked), if any.
    pub fn user(&self) -> Option<Arc<SignedIn>> {
        match self.state.get() {
            AuthState::SignedIn(user) => Some(user),
            _ => None,
        }
    }

    /// Whether the last session ended by itself (tracked).
    pub fn ended(&self) -> bool {
        self.ended.get()
    }

    /// An access token good for at least a little while, refreshing first when needed.
    pub async fn access_token(&self) -> Result<String, ApiError> {
        if let AuthState::SignedIn(user) = self.state.get_untracked()
            && user.expires_at - now_secs() > 5
        {
            return Ok(user.access_token.clone());
        }
        if matches!(self.state.get_untracked(), AuthState::SignedOut)
            && self.in_flight.with_value(Option::is_none)
        {
            return Err(ApiError::SessionEnded);
        }
        self.refresh().await?;
        match self.state.get_untracked() {
            AuthState::SignedIn(user) => Ok(user.access_token.clone()),
            _ => Err(ApiError::SessionEnded),
        }
    }

    /// Exchanges the refresh token for a new pair. Callers at the same time share one exchange.
    pub async fn refresh(&self) -> Result<(), ApiError> {
        let shared = self.in_flight.with_value(Clone::clone);
        let future = match shared {
            Some(future) => future,
            None => {
                let session = *self;
                let future = async move {
                    let result = session.exchange_refresh_token().await;
                    session.in_flight.set_value(None);
                    result
                }
                .boxed_local()
                .shared();
                self.in_flight.set_value(Some(future.clone()));
                future
            }
        };
        future.await
    }

    async fn exchange_refresh_token(&self) -> Result<(), ApiError> {
        let Some(token) = storage::get(storage::REFRESH_TOKEN) else {
            self.end();
            return Err(ApiError::SessionEnded);
        };
        let client_id = self.client_id.get_value();
        let result = self
            .authenticator
            .get_value()
            .refresh(&token, client_id.as_deref())
            .await;
        match result {
            Ok(response) => {
                self.accept(response);
                Ok(())
            }
            // Nothing answered, or the authenticator (or GitHub behind it) failed: the token was
            // not spent, so keep it and let the caller show the error.
            Err(error) if error.is_transient() => {
                if matches!(self.state.get_untracked(), AuthState::Restoring) {
                    self.state.set(AuthState::SignedOut);
                }
                Err(error)
            }
            Err(_) => {
                self.end();
                Err(ApiError::SessionEnded)
            }
        }
    }

    /// Takes a token response (from the code exchange or a refresh) as the new session.
    pub fn accept(&self, response: TokenResponse) {
        let access_token = response.access_token.expose().to_owned();
        let Some(claims) = jwt::claims(&access_token) else {
            self.end();
            return;
        };
        storage::set(storage::REFRESH_TOKEN, response.refresh_token.expose());
        let expires_at = now_secs() + response.expires_in as i64;
        self.ended.set(false);
        self.state.set(AuthState::SignedIn(Arc::new(SignedIn {
            access_token,
            claims,
            expires_at,
        })));
        self.schedule_refresh(expires_at);
    }

    fn schedule_refresh(&self, expires_at: i64) {
        self.cancel_timer();
        let delay = (expires_at - REFRESH_AHEAD_SECS - now_secs()).max(1) as u64;
        let session = *self;
        let handle = set_timeout_with_handle(
            move || {
                leptos::task::spawn_local(async move {
                    let _ = session.refresh().await;
                })
            },
            std::time::Duration::from_secs(delay),
        );
        self.timer.set_value(handle.ok());
    }

    fn cancel_timer(&self) {
        if let Some(handle) = self.timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    }

    /// The session ended without the user asking: forget it and say so on the landing page.
    pub fn end(&self) {
        self.forget();
        self.ended.set(true);
    }

    fn forget(&self) {
        self.cancel_timer();
        storage::remove(storage::REFRESH_TOKEN);
        self.state.set(AuthState::SignedOut);
    }

    /// Signs out here and in every other tab, and revokes the refresh token's family.
    pub async fn sign_out(&self) {
        let token = storage::get(storage::REFRESH_TOKEN);
        self.forget();
        self.ended.set(false);
        if let Some(token) = token {
            // Revocation failing (offline) leaves a token only this browser had and no longer
            // keeps; it expires by itself.
            let _ = self.authenticator.get_value().revoke(&token).await;
        }
    }

    /// Another tab signed out (removed the token): follow it. A rotation by another tab needs
    /// nothing, since refreshes read the token from storage when they happen.
    fn follow_other_tabs(&self) {
        let session = *self;
        let handle = window_event_listener(leptos::ev::storage, move |event| {
            let key = event.key();
            let cleared = key.is_none() || key.as_deref() == Some(storage::REFRESH_TOKEN);
            if cleared && event.new_value().is_none() {
                session.cancel_timer();
                session.state.set(AuthState::SignedOut);
            }
        });
        // The session lives as long as the page.
        std::mem::forget(handle);
    }

    /// Starts signing in: registers the client if needed, remembers the PKCE verifier and the
    /// return path, and sends the browser to the authenticator.
    pub async fn sign_in(&self, as_admin: bool, return_to: String) -> Result<(), ApiError> {
        let redirect_uri = format!("{}/auth/callback", origin());
        let client_id = match self.client_id.get_value() {
            Some(id) => id,
            None => self.registered_client(&redirect_uri).await?,
        };
        let (Some(verifier), Some(state)) = (pkce::random_token(), pkce::random_token()) else {
            return Err(ApiError::Browser(
                "This browser cannot generate secure random numbers, which signing in needs."
                    .into(),
            ));
        };
        let mut scope = Scopes::MEMBER;
        if as_admin {
            scope.insert(Scope::SlideruleAdmin);
        }
        let url = self.authenticator.get_value().authorize_url(&Authorize {
            client_id: &client_id,
            redirect_uri: &redirect_uri,
            state: &state,
            code_challenge: &pkce::challenge(&verifier),
            scope,
        });
        pkce::PendingLogin {
            state,
            verifier,
            client_id,
            redirect_uri,
            return_to,
        }
        .save();
        if let Some(window) = web_sys::window() {
            let _ = window.location().assign(&url);
        }
        Ok(())
    }

    /// Signs a local account in with its username and password (no redirect: the answer is the
    /// session).
    pub async fn sign_in_local(&self, username: &str, password: &str) -> Result<(), ApiError> {
        let response = self
            .authenticator
            .get_value()
            .local_token(username, password)
            .await?;
        self.accept(response);
        Ok(())
    }

    /// Creates one's own local account, then signs it in.
    pub async fn sign_up_local(
        &self,
        request: &sliderule_protocol::organizations::accounts::NewAccountRequest,
    ) -> Result<(), ApiError> {
        self.authenticator.get_value().signup(request).await?;
        self.sign_in_local(request.username.as_str(), request.password.expose())
            .await
    }

    /// A local account changes its password.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<(), ApiError> {
        let token = self.access_token().await?;
        self.authenticator
            .get_value()
            .change_password(&token, current, new)
            .await
    }

    /// A dynamically registered client id for this redirect URI: the one from an earlier
    /// registration, or a new one.
    async fn registered_client(&self, redirect_uri: &str) -> Result<String, ApiError> {
        if let Some(saved) = storage::get(storage::REGISTERED_CLIENT)
            && let Some((uri, id)) = saved.split_once(' ')
            && uri == redirect_uri
        {
            return Ok(id.to_owned());
        }
        let record = self
            .authenticator
            .get_value()
            .register(redirect_uri)
            .await?;
        storage::set(
            storage::REGISTERED_CLIENT,
            &format!("{redirect_uri} {}", record.client_id),
        );
        Ok(record.client_id)
    }

    /// Completes the sign-in this tab started, from the callback's `code` and `state`.
    pub async fn complete_sign_in(&self, code: &str, state: &str) -> Result<String, SignInError> {
        let pending = pkce::PendingLogin::take().ok_or(SignInError::NoPendingSignIn)?;
        if pending.state != state {
            return Err(SignInError::StateMismatch);
        }
        let response = self
            .authenticator
            .get_value()
            .exchange_code(
                code,
                &pending.verifier,
                &pending.client_id,
                &pending.redirect_uri,
            )
            .await;
        match response {
            Ok(response) => {
                self.accept(response);
                Ok(pending.return_to)
            }
            Err(ApiError::Server { error, .. }) if error == "invalid_client" => {
                // A registration that expired unused: forget it so "Try again" registers anew.
                storage::remove(storage::REGISTERED_CLIENT);
                Err(SignInError::Api(ApiError::Server {
                    status: 400,
                    error,
                    description: "This browser's registration with the sign-in service has \
                                  expired. Please try again."
                        .into(),
                }))
            }
            Err(error) => Err(SignInError::Api(error)),
        }
    }
}

/// Why the callback could not complete a sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInError {
    /// No sign-in was started in this tab (an old or copied callback URL).
    NoPendingSignIn,
    /// The `state` is not the one this tab sent: possibly a forged callback.
    StateMismatch,
    /// GitHub or the authenticator said no.
    Denied(String),
    Api(ApiError),
}

impl std::fmt::Display for SignInError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignInError::NoPendingSignIn => f.write_str(
                "This sign-in was not started in this tab, or it has already been completed.",
            ),
            SignInError::StateMismatch => f.write_str(
                "The sign-in response does not match the request this tab sent, so it was \
                 refused.",
            ),
            SignInError::Denied(why) => f.write_str(why),
            SignInError::Api(error) => write!(f, "{error}"),
        }
    }
}

/// This page's origin, e.g. `http://127.0.0.1:8080`.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// The current path with its query, to come back to after signing in.
pub fn current_path() -> String {
    web_sys::window()
        .and_then(|w| {
            let location = w.location();
            Some(location.pathname().ok()? + &location.search().ok()?)
        })
        .unwrap_or_else(|| "/clusters".to_owned())
}

/// The session from context.
pub fn use_session() -> Session {
    expect_context::<Session>()
}
