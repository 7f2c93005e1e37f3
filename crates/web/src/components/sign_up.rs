//! "Create an account" on the landing page, where the service lets people create their own
//! local account (`config.json`'s `self_signup`): a username (GitHub's login rules), an
//! optional e-mail address for notifications, and a password, checked here with the server's
//! rules before anything is sent; then the new account is signed in.

use leptos::prelude::*;
use sliderule_protocol::organizations::accounts::{NewAccountRequest, Username, check_password};

use super::status::ErrorAlert;
use crate::api::ApiError;
use crate::session::use_session;

#[component]
pub fn SignUp() -> impl IntoView {
    let session = use_session();
    let username = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let failed = RwSignal::new(None::<ApiError>);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let pass = password.get_untracked();
        let checked = Username::parse(username.get_untracked().trim())
            .map_err(|e| e.to_string())
            .and_then(|name| {
                check_password(&name, &pass)
                    .map(|()| name)
                    .map_err(|e| e.to_string())
            });
        let name = match checked {
            Ok(name) => name,
            Err(why) => {
                problem.set(Some(why));
                return;
            }
        };
        problem.set(None);
        failed.set(None);
        busy.set(true);
        let address = email.get_untracked().trim().to_owned();
        let request = NewAccountRequest {
            username: name,
            password: pass.into(),
            email: (!address.is_empty()).then_some(address),
        };
        leptos::task::spawn_local(async move {
            if let Err(error) = session.sign_up_local(&request).await {
                failed.try_set(Some(error));
            }
            password.try_set(String::new());
            busy.try_set(false);
        });
    };

    view! {
        <details class="sign-up">
            <summary>"No account? Create one"</summary>
            <form on:submit=submit novalidate aria-label="Create an account">
                <div class="field">
                    <label for="signup-username">"Choose a username"</label>
                    <input
                        id="signup-username"
                        autocomplete="username"
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="signup-email">"E-mail (optional, for notifications)"</label>
                    <input
                        id="signup-email"
                        type="email"
                        autocomplete="email"
                        prop:value=move || email.get()
                        on:input=move |ev| email.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="signup-password">"Choose a password (at least 12 characters)"</label>
                    <input
                        id="signup-password"
                        type="password"
                        autocomplete="new-password"
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                </div>
                {move || {
                    problem.get().map(|why| view! { <p class="field-error" role="alert">{why}</p> })
                }}
                <button type="submit" class="button" disabled=move || busy.get()>
                    {move || if busy.get() { "Creating…" } else { "Create my account" }}
                </button>
            </form>
            {move || failed.get().map(|error| view! { <ErrorAlert error/> })}
        </details>
    }
}
