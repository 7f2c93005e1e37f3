//! `/auth/callback`: where the authenticator sends the browser back to finish signing in.
//!
//! Checks that the `state` is the one this tab sent, exchanges the one-time code with the PKCE
//! verifier, takes `code` and `state` out of the address bar (and history), and goes on to the
//! page the user was on. Anything that goes wrong is said in words, with a way to try again.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::components::status::Loading;
use crate::components::title::set_page_title;
use crate::session::{SignInError, use_session};

/// The sign-in callback.
#[component]
pub fn AuthCallback() -> impl IntoView {
    set_page_title("Signing in");
    let session = use_session();
    let query = use_query_map().get_untracked();
    let failed = RwSignal::new(None::<SignInError>);
    let navigate = use_navigate();

    let code = query.get("code");
    let state = query.get("state");
    let denied = query.get("error").map(|error| {
        query
            .get("error_description")
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| format!("Sign-in was refused ({error})."))
    });

    // The code is single use: strip it from the address bar before anything else, so a reload
    // or a shared link cannot replay it.
    if let Some(window) = web_sys::window()
        && let Ok(history) = window.history()
    {
        let _ = history.replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some("/auth/callback"),
        );
    }

    match (denied, code, state) {
        (Some(why), _, _) => failed.set(Some(SignInError::Denied(why))),
        (None, Some(code), Some(state)) => {
            leptos::task::spawn_local(async move {
                match session.complete_sign_in(&code, &state).await {
                    Ok(to) => navigate(
                        safe_return_path(&to),
                        NavigateOptions {
                            replace: true,
                            ..NavigateOptions::default()
                        },
                    ),
                    Err(error) => failed.set(Some(error)),
                }
            });
        }
        _ => failed.set(Some(SignInError::NoPendingSignIn)),
    }

    move || match failed.get() {
        None => view! {
            <h1>"Signing in"</h1>
            <Loading what="your account"/>
        }
        .into_any(),
        Some(error) => view! {
            <section class="card narrow" aria-labelledby="callback-error-title">
                <h1 id="callback-error-title">"Sign-in did not complete"</h1>
                <div class="alert alert-error" role="alert">
                    <p>{error.to_string()}</p>
                </div>
                <p>
                    <a href="/" class="button button-primary">"Try again"</a>
                </p>
            </section>
        }
        .into_any(),
    }
}

/// Only paths of this site are followed after sign-in; anything else goes to the cluster list.
fn safe_return_path(path: &str) -> &str {
    if path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/auth/callback") {
        path
    } else {
        "/clusters"
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_path;

    #[test]
    fn sign_in_returns_only_to_paths_of_this_site() {
        assert_eq!(safe_return_path("/clusters/bob"), "/clusters/bob");
        assert_eq!(safe_return_path("//evil.example/x"), "/clusters");
        assert_eq!(safe_return_path("https://evil.example"), "/clusters");
        assert_eq!(safe_return_path("/auth/callback?code=x"), "/clusters");
    }
}
