//! GitHub's OAuth web flow: the authorize page (`/login/oauth/authorize`), which hands a one-time
//! code back to the application's `redirect_uri`, and the token endpoint
//! (`/login/oauth/access_token`), which exchanges codes (and, via `device.rs`, device codes) for
//! tokens. Like GitHub, the token endpoint answers errors with HTTP 200 and encodes its answer as
//! JSON only when asked to by `Accept`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use url::Url;

use crate::faults::{self, Endpoint};
use crate::pages::{self, AuthorizeView, UserChoice};
use crate::respond::{self, Field};
use crate::seed::{Membership, Seed};
use crate::state::{AuthCode, CODE_LIFETIME, HEX, State as World, random_string};
use crate::{Emulator, device};

pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

const TOKEN_ERRORS_DOCS: &str = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";
const AUTHORIZE_ERRORS_DOCS: &str =
    "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors";

/// Parameters from the query string and a form or JSON body; the body wins. GitHub accepts the
/// token endpoint's parameters in either place, and some clients send them in the query.
pub(crate) fn read_params(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if is_json {
        // A malformed body simply contributes nothing; the missing fields are then reported.
        if let Ok(serde_json::Value::Object(map)) =
            serde_json::from_slice::<serde_json::Value>(body)
        {
            for (key, value) in map {
                let value = match value {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                params.insert(key, value);
            }
        }
    } else {
        params.extend(url::form_urlencoded::parse(body).into_owned());
    }
    params
}

/// GitHub reports granted scopes comma separated; requests may use spaces or commas.
pub(crate) fn normalize_scope(scope: &str) -> String {
    let mut scopes: Vec<&str> = Vec::new();
    for s in scope
        .split([',', ' ', '+'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    scopes.join(",")
}

/// Whether the client may use the token endpoints. With no client configured in the seed, any
/// client is accepted; the secret is checked only where GitHub requires it (the code exchange).
pub(crate) fn client_accepted(
    seed: &Seed,
    client_id: Option<&str>,
    secret: Option<&str>,
    check_secret: bool,
) -> bool {
    let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
        return false;
    };
    if seed
        .client_id
        .as_deref()
        .is_some_and(|expected| expected != client_id)
    {
        return false;
    }
    if check_secret && let Some(expected) = &seed.client_secret {
        return secret == Some(expected.as_str());
    }
    true
}

/// The seeded users as the pages offer them, with their standing spelled out.
pub(crate) fn user_choices(state: &World) -> Vec<UserChoice> {
    state
        .directory
        .users
        .iter()
        .zip(&state.memberships)
        .map(|(user, membership)| {
            let standing = match membership {
                Membership::Admin => "organization owner",
                Membership::Member => "organization member",
                Membership::Pending => "invited to the organization",
                Membership::None => "not a member",
            };
            let teams: Vec<String> = user
                .teams
                .iter()
                .map(|&t| {
                    let team = &state.directory.teams[t];
                    if team.org == crate::state::SEED_ORG {
                        team.slug.clone()
                    } else {
                        format!("{}/{}", state.directory.orgs[team.org].login, team.slug)
                    }
                })
                .collect();
            let description = if teams.is_empty() {
                standing.to_owned()
            } else {
                format!("{standing}, teams: {}", teams.join(", "))
            };
            UserChoice {
                login: user.login.clone(),
                description,
            }
        })
        .collect()
}

/// Appends query parameters to a redirect URI, keeping any query it already has.
pub(crate) fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = Url::parse(redirect_uri).ok()?;
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in pairs {
            query.append_pair(key, value);
        }
    }
    Some(url.into())
}

fn page_error(status: StatusCode, title: &str, message: &str) -> Response {
    respond::html(status, pages::error_page(title, message))
}

/// Why an authorize request is refused before any page is shown.
#[derive(Debug, Clone, Copy)]
enum AuthorizeRefusal {
    UnknownClient,
    NoRedirectUri,
}

impl AuthorizeRefusal {
    fn page(self) -> Response {
        match self {
            // GitHub answers an unknown client id with a 404 page.
            AuthorizeRefusal::UnknownClient => page_error(
                StatusCode::NOT_FOUND,
                "Not Found",
                "No OAuth application has this client_id.",
            ),
            // GitHub would fall back to the app's registered callback; the emulator has none.
            AuthorizeRefusal::NoRedirectUri => page_error(
                StatusCode::BAD_REQUEST,
                "Redirect URI required",
                "The GitHub emulator needs an absolute http(s) redirect_uri on the authorize request.",
            ),
        }
    }
}

/// Checks an authorize request the way GitHub does before showing anything.
fn authorize_view(
    emulator: &Emulator,
    params: &HashMap<String, String>,
) -> Result<AuthorizeView, AuthorizeRefusal> {
    let client_id = params
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    let configured = emulator.with_state(|state| state.seed.client_id.clone());
    if client_id.is_empty() || configured.as_deref().is_some_and(|c| c != client_id) {
        return Err(AuthorizeRefusal::UnknownClient);
    }
    let redirect_uri = params.get("redirect_uri").cloned().unwrap_or_default();
    let usable = Url::parse(&redirect_uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if !usable {
        return Err(AuthorizeRefusal::NoRedirectUri);
    }
    Ok(AuthorizeView {
        client_id: client_id.to_owned(),
        redirect_uri,
        scope: normalize_scope(params.get("scope").map(String::as_str).unwrap_or_default()),
        state: params.get("state").cloned(),
    })
}

/// Issues a code for `login` and sends the browser back to the application.
fn choose(emulator: &Emulator, view: &AuthorizeView, login: &str) -> Response {
    let issued = emulator.with_state(|state| {
        let user = state.directory.user_index(login)?;
        state.purge_expired();
        let code = random_string(HEX, 20);
        let expires_at = state.now() + CODE_LIFETIME;
        state.codes.insert(
            code.clone(),
            AuthCode {
                user,
                client_id: view.client_id.clone(),
                redirect_uri: view.redirect_uri.clone(),
                scope: view.scope.clone(),
                expires_at,
            },
        );
        Some(code)
    });
    let Some(code) = issued else {
        let users = emulator.with_state(|state| user_choices(state));
        let message = format!("There is no seeded user {login:?}; choose one of these.");
        return respond::html(
            StatusCode::BAD_REQUEST,
            pages::authorize_page(view, &users, Some(&message)),
        );
    };
    tracing::info!(login, "authorize: issued a code");
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = &view.state {
        pairs.push(("state", state));
    }
    match redirect_with(&view.redirect_uri, &pairs) {
        Some(location) => respond::found(&location),
        None => page_error(
            StatusCode::BAD_REQUEST,
            "Bad redirect URI",
            "The redirect_uri is not a URL.",
        ),
    }
}

/// The user cancelled: GitHub redirects with `error=access_denied`.
fn cancel(view: &AuthorizeView) -> Response {
    let error_uri = format!("{AUTHORIZE_ERRORS_DOCS}/#access-denied");
    let mut pairs = vec![
        ("error", "access_denied"),
        (
            "error_description",
            "The user has denied your application access.",
        ),
        ("error_uri", error_uri.as_str()),
    ];
    if let Some(state) = &view.state {
        pairs.push(("state", state));
    }
    tracing::info!("authorize: the user cancelled");
    match redirect_with(&view.redirect_uri, &pairs) {
        Some(location) => respond::found(&location),
        None => page_error(
            StatusCode::BAD_REQUEST,
            "Bad redirect URI",
            "The redirect_uri is not a URL.",
        ),
    }
}

/// `GET /login/oauth/authorize`: the page, or straight back with a code when `login=` is given.
pub(crate) async fn authorize_get(
    State(emulator): State<Emulator>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(fault) = faults::apply(&emulator, Endpoint::Authorize, None).await {
        return fault;
    }
    let params = read_params(&HeaderMap::new(), query.as_deref(), &[]);
    let view = match authorize_view(&emulator, &params) {
        Ok(view) => view,
        Err(refusal) => return refusal.page(),
    };
    match params.get("login").filter(|l| !l.is_empty()) {
        Some(login) => choose(&emulator, &view, login),
        None => {
            let users = emulator.with_state(|state| user_choices(state));
            respond::html(StatusCode::OK, pages::authorize_page(&view, &users, None))
        }
    }
}

/// `POST /login/oauth/authorize`: the page's form (a user's button, or Cancel).
pub(crate) async fn authorize_post(
    State(emulator): State<Emulator>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = faults::apply(&emulator, Endpoint::Authorize, None).await {
        return fault;
    }
    let params = read_params(&headers, query.as_deref(), &body);
    let view = match authorize_view(&emulator, &params) {
        Ok(view) => view,
        Err(refusal) => return refusal.page(),
    };
    if params.contains_key("cancel") {
        return cancel(&view);
    }
    match params.get("login").filter(|l| !l.is_empty()) {
        Some(login) => choose(&emulator, &view, login),
        None => {
            let users = emulator.with_state(|state| user_choices(state));
            respond::html(
                StatusCode::BAD_REQUEST,
                pages::authorize_page(&view, &users, Some("Choose a user to sign in as.")),
            )
        }
    }
}

/// `POST /login/oauth/access_token`: code and device-code grants.
pub(crate) async fn access_token(
    State(emulator): State<Emulator>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = faults::apply(&emulator, Endpoint::AccessToken, None).await {
        return fault;
    }
    let json = respond::wants_json(&headers);
    let params = read_params(&headers, query.as_deref(), &body);
    match params.get("grant_type").map(String::as_str) {
        Some(DEVICE_GRANT) => device::poll(&emulator, json, &params),
        None | Some("authorization_code") => exchange_code(&emulator, json, &params),
        Some(_) => respond::oauth_error(
            json,
            "unsupported_grant_type",
            "The grant type is not supported.",
            device::DEVICE_ERRORS_DOCS,
        ),
    }
}

/// The successful token answer, the same for both grants.
pub(crate) fn token_answer(json: bool, token: String, scope: String) -> Response {
    respond::oauth_answer(
        json,
        vec![
            ("access_token", Field::from(token)),
            ("token_type", "bearer".into()),
            ("scope", scope.into()),
        ],
    )
}

/// Why a code exchange was refused (each answered with HTTP 200, as GitHub does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExchangeError {
    IncorrectClientCredentials,
    BadVerificationCode,
    RedirectUriMismatch,
}

impl ExchangeError {
    fn answer(self, json: bool) -> Response {
        let (error, description, uri) = match self {
            ExchangeError::IncorrectClientCredentials => (
                "incorrect_client_credentials",
                "The client_id and/or client_secret passed are incorrect.",
                format!("{TOKEN_ERRORS_DOCS}/#incorrect-client-credentials"),
            ),
            ExchangeError::BadVerificationCode => (
                "bad_verification_code",
                "The code passed is incorrect or expired.",
                format!("{TOKEN_ERRORS_DOCS}/#bad-verification-code"),
            ),
            ExchangeError::RedirectUriMismatch => (
                "redirect_uri_mismatch",
                "The redirect_uri MUST match the registered callback URL for this application.",
                format!("{AUTHORIZE_ERRORS_DOCS}/#redirect-uri-mismatch2"),
            ),
        };
        tracing::info!(error, "access_token: refused a code exchange");
        respond::oauth_error(json, error, description, &uri)
    }
}

fn exchange_code(emulator: &Emulator, json: bool, params: &HashMap<String, String>) -> Response {
    let get = |key: &str| params.get(key).map(String::as_str);
    let outcome = emulator.with_state(|state| {
        if !client_accepted(&state.seed, get("client_id"), get("client_secret"), true) {
            return Err(ExchangeError::IncorrectClientCredentials);
        }
        let now = state.now();
        let code = get("code").unwrap_or_default();
        let issued = state
            .codes
            .get(code)
            .filter(|issued| {
                issued.expires_at > now && Some(issued.client_id.as_str()) == get("client_id")
            })
            .ok_or(ExchangeError::BadVerificationCode)?;
        if get("redirect_uri").is_some_and(|uri| uri != issued.redirect_uri) {
            return Err(ExchangeError::RedirectUriMismatch);
        }
        // Codes are single use: the exchange spends it.
        let issued = state
            .codes
            .remove(code)
            .ok_or(ExchangeError::BadVerificationCode)?;
        let login = state.directory.users[issued.user].login.clone();
        let token = state.mint_token(issued.user, issued.scope.clone());
        Ok((token, issued.scope, login))
    });
    match outcome {
        Ok((token, scope, login)) => {
            tracing::info!(login, "access_token: exchanged a code");
            token_answer(json, token, scope)
        }
        Err(error) => error.answer(json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_reported_comma_separated_without_repeats() {
        assert_eq!(normalize_scope("read:org user read:org"), "read:org,user");
        assert_eq!(normalize_scope("read:org,user"), "read:org,user");
        assert_eq!(normalize_scope(""), "");
    }

    #[test]
    fn redirects_keep_an_existing_query() {
        let location = redirect_with(
            "http://app.test/cb?next=%2Fhome",
            &[("code", "c"), ("state", "s 1")],
        )
        .expect("valid");
        assert_eq!(location, "http://app.test/cb?next=%2Fhome&code=c&state=s+1");
    }

    #[test]
    fn any_client_is_accepted_when_none_is_configured() {
        let seed = Seed::demo();
        assert!(client_accepted(&seed, Some("anything"), None, true));
        assert!(!client_accepted(&seed, None, None, true));
    }

    #[test]
    fn a_configured_client_needs_its_secret_for_the_code_exchange() {
        let mut seed = Seed::demo();
        seed.client_id = Some("app".into());
        seed.client_secret = Some("shh".into());
        assert!(client_accepted(&seed, Some("app"), Some("shh"), true));
        assert!(!client_accepted(&seed, Some("app"), Some("nope"), true));
        assert!(!client_accepted(&seed, Some("other"), Some("shh"), true));
        assert!(client_accepted(&seed, Some("app"), None, false));
    }

    #[test]
    fn json_bodies_and_queries_both_carry_parameters() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/json".parse().expect("header"));
        let params = read_params(&headers, Some("a=1&b=2"), br#"{"b":"3","n":4}"#);
        assert_eq!(params["a"], "1");
        assert_eq!(params["b"], "3");
        assert_eq!(params["n"], "4");
    }
}
