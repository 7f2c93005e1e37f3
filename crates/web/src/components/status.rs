//! Small pieces that report progress and failure the same way on every page.

use leptos::prelude::*;

use crate::api::ApiError;

/// A polite "loading" line for screen readers and sighted users alike.
#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! {
        <p class="loading" role="status">
            <span class="spinner" aria-hidden="true"></span>
            "Loading " {what} "…"
        </p>
    }
}

/// A failed call, shown where the action was taken, with a retry when one makes sense.
#[component]
pub fn ErrorAlert(
    error: ApiError,
    /// Offered as a "Try again" button when the failure may be passing.
    #[prop(optional, into)]
    retry: Option<Callback<()>>,
) -> impl IntoView {
    let retry = retry.filter(|_| error.is_transient()).map(|retry| {
        view! {
            <button type="button" class="button button-small" on:click=move |_| retry.run(())>
                "Try again"
            </button>
        }
    });
    view! {
        <div class="alert alert-error" role="alert">
            <p>{error.to_string()}</p>
            {retry}
        </div>
    }
}
