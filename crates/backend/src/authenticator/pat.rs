//! `POST /auth/github/pat`: sign in with a GitHub personal access token (the official clients'
//! `SLIDERULE_GITHUB_TOKEN`). Member scopes at most: a PAT never carries owner powers.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sliderule_protocol::authenticator::pat::PatRequest;
use sliderule_protocol::{Scopes, codes, parse_json_body};

use super::error::AuthError;
use super::grant::Flow;
use super::respond::no_store;
use super::session::Session;
use crate::app::AppState;
use sliderule_protocol::authenticator::{LoginSuccess, paths};

#[utoipa::path(
    post,
    path = paths::PAT,
    request_body = PatRequest,
    responses((status = 200, description = "Signed in", body = LoginSuccess), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn login(State(state): State<AppState>, body: Bytes) -> Result<Response, AuthError> {
    let request: PatRequest = parse_json_body(&body)?;
    let pat = request.pat().ok_or_else(|| {
        AuthError::refused(
            codes::MISSING_PAT,
            "Personal Access Token (pat) is required",
        )
    })?;
    // Surrounding blanks are what a copy or a shell leaves; they were never part of the token.
    let pat = pat.expose().trim();
    if let Some(problem) = malformation(pat) {
        tracing::info!(%problem, "PAT login refused without asking GitHub: malformed token");
        return Err(AuthError::refused(
            codes::INVALID_REQUEST,
            format!(
                "The personal access token (pat) is malformed: {problem}. A GitHub token is one \
                 word of printable ASCII characters; copy it again from GitHub."
            ),
        ));
    }
    let auth = &state.authenticator;
    let identity = auth.resolver.resolve(pat).await?;
    let session = Session::new(identity, Scopes::MEMBER, Flow::PersonalAccessToken);
    let issued = auth
        .start_session(&state.keys.current(), &session, state.clock.now())
        .await?;
    Ok(no_store(StatusCode::OK, issued.login_success()))
}

/// What makes `token` impossible as a GitHub token, said without repeating the token: it goes
/// into an `Authorization` header, where a control character cannot even be sent, and GitHub's
/// tokens are printable ASCII without blanks.
pub(crate) fn malformation(token: &str) -> Option<String> {
    let (index, found) = token
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_graphic())?;
    let kind = if found.is_control() {
        "a control character"
    } else if found.is_whitespace() {
        "a blank"
    } else {
        "not ASCII"
    };
    Some(format!(
        "character {} is {kind} (U+{:04X})",
        index + 1,
        u32::from(found)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_shaped_tokens_are_well_formed() {
        for token in [
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "github_pat_11ABCDEFG0_abcdefghijklmnop",
            "demo-pat-bob",
            "0123456789abcdef0123456789abcdef01234567",
        ] {
            assert_eq!(malformation(token), None, "{token}");
        }
    }

    #[test]
    fn a_malformation_names_the_character_but_not_the_token() {
        let problem = malformation("demo-pat-bob\nX").unwrap();
        assert_eq!(problem, "character 13 is a control character (U+000A)");
        assert!(!problem.contains("demo"));
        assert_eq!(
            malformation("a\0b").unwrap(),
            "character 2 is a control character (U+0000)"
        );
        assert_eq!(
            malformation("ghp_a b").unwrap(),
            "character 6 is a blank (U+0020)"
        );
        assert_eq!(
            malformation("ghp_é").unwrap(),
            "character 5 is not ASCII (U+00E9)"
        );
    }
}
