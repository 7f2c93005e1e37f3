//! What every form shares: running its request while marked as sending, and its submit row
//! (the button, disabled while the request runs, and the request's error).

use leptos::prelude::*;

use super::status::ErrorAlert;
use crate::api::ApiError;

/// Runs a form's request with the form marked as sending: the answer goes to `done`, a
/// failure is shown under the form.
pub fn run_form<T: 'static>(
    sending: RwSignal<bool>,
    failed: RwSignal<Option<ApiError>>,
    call: impl std::future::Future<Output = Result<T, ApiError>> + 'static,
    done: impl FnOnce(T) + 'static,
) {
    failed.set(None);
    sending.set(true);
    leptos::task::spawn_local(async move {
        match call.await {
            Ok(answer) => done(answer),
            Err(error) => {
                failed.try_set(Some(error));
            }
        }
        sending.try_set(false);
    });
}

/// A form's submit button (disabled while its request runs) and the request's error.
#[component]
pub fn SubmitRow(
    label: &'static str,
    sending: RwSignal<bool>,
    failed: RwSignal<Option<ApiError>>,
) -> impl IntoView {
    view! {
        <div class="actions">
            <button type="submit" class="button button-primary" disabled=move || sending.get()>
                {move || if sending.get() { "Sending…" } else { label }}
            </button>
        </div>
        {move || failed.get().map(|error| view! { <ErrorAlert error/> })}
    }
}

/// The minimum and maximum node counts of an organization's bounds, as two number fields whose
/// ids start with `id`.
#[component]
pub fn BoundsFields(
    id: &'static str,
    min: RwSignal<String>,
    max: RwSignal<String>,
    min_label: &'static str,
) -> impl IntoView {
    let (min_id, max_id) = (format!("{id}-min"), format!("{id}-max"));
    view! {
        <div class="field-grid">
            <div class="field">
                <label for=min_id.clone()>{min_label}</label>
                <input
                    id=min_id
                    type="number"
                    inputmode="numeric"
                    min="0"
                    prop:value=move || min.get()
                    on:input=move |ev| min.set(event_target_value(&ev))
                />
            </div>
            <div class="field">
                <label for=max_id.clone()>"Maximum nodes"</label>
                <input
                    id=max_id
                    type="number"
                    inputmode="numeric"
                    min="0"
                    prop:value=move || max.get()
                    on:input=move |ev| max.set(event_target_value(&ev))
                />
            </div>
        </div>
    }
}
