//! `/account`: who the signed-in person is to SlideRule: identity, roles, scopes, limits, token
//! expiry and budget, a password change for local accounts, a button that copies the access
//! token for scripts, and sign-out.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use sliderule_protocol::provisioner::InfoResponse;

use crate::api::{ApiError, Provisioner};
use crate::components::gate::SignedInOnly;
use crate::components::status::ErrorAlert;
use crate::components::title::set_page_title;
use crate::session::use_session;
use crate::time::{countdown, iso, local_datetime, minutes_label, now_secs};

/// The account page.
#[component]
pub fn Account() -> impl IntoView {
    set_page_title("Account");
    view! {
        <h1>"Account"</h1>
        <SignedInOnly>
            <AccountDetails/>
        </SignedInOnly>
    }
}

#[component]
fn AccountDetails() -> impl IntoView {
    let session = use_session();
    let provisioner = expect_context::<Provisioner>();
    let info = RwSignal::new(None::<Result<InfoResponse, ApiError>>);
    if session.user().is_some_and(|u| u.may_provision()) {
        leptos::task::spawn_local(async move { info.set(Some(provisioner.info().await)) });
    }

    // Ticks once a second so the token's remaining time stays current.
    let now = RwSignal::new(now_secs());
    let tick = set_interval_with_handle(
        move || now.set(now_secs()),
        std::time::Duration::from_secs(1),
    );
    on_cleanup(move || {
        if let Ok(handle) = tick {
            handle.clear();
        }
    });

    let user = move || session.user();
    let field = move |f: fn(&crate::session::SignedIn) -> String| move || user().map(|u| f(&u));

    view! {
        <section class="card" aria-labelledby="identity-title">
            <h2 id="identity-title">"Identity and access"</h2>
            <dl class="facts-list">
                <dt>"Username"</dt>
                <dd>{field(|u| u.claims.sub.clone())}</dd>
                <dt>"Organization"</dt>
                <dd>{field(|u| u.claims.org.clone())}</dd>
                <dt>"Roles"</dt>
                <dd>{field(roles_text)}</dd>
                <dt>"Scopes"</dt>
                <dd>{field(|u| u.scopes().to_string())}</dd>
                <dt>"Clusters"</dt>
                <dd>{field(|u| clusters_text(&u.claims.deployable_clusters()))}</dd>
                <dt>"Max nodes"</dt>
                <dd>{field(|u| u.limits().max_nodes.to_string())}</dd>
                <dt>"Max TTL"</dt>
                <dd>{field(|u| minutes_label(u.limits().max_ttl))}</dd>
                <dt>"Token expires"</dt>
                <dd>
                    {move || {
                        user()
                            .map(|u| {
                                let exp = u.claims.exp;
                                view! {
                                    <time datetime=iso(exp)>{local_datetime(exp)}</time>
                                    " (in " {countdown(u.expires_at - now.get())}
                                    ", renewed automatically)"
                                }
                            })
                    }}
                </dd>
            </dl>
        </section>
        {move || match info.get() {
            Some(Ok(InfoResponse { budget: Some(budget), .. })) => Some(
                view! {
                    <section class="card" aria-labelledby="budget-title">
                        <h2 id="budget-title">"Budget"</h2>
                        <dl class="facts-list">
                            <dt>"Account"</dt>
                            <dd>{budget.account.clone()}</dd>
                            <dt>"Balance"</dt>
                            <dd>{format!("${}", budget.balance)}</dd>
                            <dt>"Monthly allowance"</dt>
                            <dd>{format!("${}", budget.monthly_allowance)}</dd>
                            <dt>"Spending now"</dt>
                            <dd>{format!("${} per hour", budget.burn_rate_per_hour)}</dd>
                        </dl>
                    </section>
                }
                    .into_any(),
            ),
            Some(Err(error)) => Some(view! { <ErrorAlert error/> }.into_any()),
            _ => None,
        }}
        {move || user().filter(|u| u.claims.is_local()).map(|_| view! { <ChangePassword/> })}
        {move || user().filter(|u| u.is_owner()).map(|_| view! { <RequestSigning/> })}
        <CopyToken/>
        <SignOut/>
    }
}

/// Owners' request signing: this browser's Ed25519 key (non-extractable, kept in IndexedDB)
/// and its public key line for an operator to register.
#[component]
fn RequestSigning() -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let line = RwSignal::new(None::<String>);
    let failed = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        if let Some(key) = provisioner.signing_key().await {
            line.try_set(Some(key.public_line));
        }
    });
    let create = move |_| {
        busy.set(true);
        failed.set(None);
        leptos::task::spawn_local(async move {
            match provisioner.create_signing_key().await {
                Ok(key) => {
                    line.try_set(Some(key.public_line));
                }
                Err(why) => {
                    failed.try_set(Some(why));
                }
            }
            busy.try_set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="signing-title">
            <h2 id="signing-title">"Request signing"</h2>
            <p>
                "Where the service requires it, owners' requests are signed with a key that this "
                "browser keeps and never reveals. Give its public key line to an operator, who "
                "registers it under your login."
            </p>
            {move || match line.get() {
                Some(line) => view! {
                    <p>"This browser's public key:"</p>
                    <pre class="key-line" data-testid="signing-key">{line}</pre>
                }
                .into_any(),
                None => view! {
                    <button type="button" class="button" on:click=create disabled=move || busy.get()>
                        "Create a signing key"
                    </button>
                }
                .into_any(),
            }}
            {move || failed.get().map(|why| view! { <p class="field-error" role="alert">{why}</p> })}
        </section>
    }
}

/// A local account changes its password (GitHub accounts have none here).
#[component]
fn ChangePassword() -> impl IntoView {
    let session = use_session();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Result<(), ApiError>>);
    let sending = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        sending.set(true);
        result.set(None);
        let (old, fresh) = (current.get_untracked(), new.get_untracked());
        leptos::task::spawn_local(async move {
            let changed = session.change_password(&old, &fresh).await;
            if changed.is_ok() {
                current.try_set(String::new());
                new.try_set(String::new());
            }
            result.try_set(Some(changed));
            sending.try_set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="password-title">
            <h2 id="password-title">"Password"</h2>
            <form on:submit=submit>
                <div class="field">
                    <label for="password-current">"Current password"</label>
                    <input
                        id="password-current"
                        type="password"
                        autocomplete="current-password"
                        required
                        prop:value=move || current.get()
                        on:input=move |ev| current.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="password-new">"New password (at least 12 characters)"</label>
                    <input
                        id="password-new"
                        type="password"
                        autocomplete="new-password"
                        required
                        minlength="12"
                        prop:value=move || new.get()
                        on:input=move |ev| new.set(event_target_value(&ev))
                    />
                </div>
                <div class="actions">
                    <button type="submit" class="button" disabled=move || sending.get()>
                        "Change password"
                    </button>
                </div>
                {move || match result.get() {
                    Some(Ok(())) => Some(view! { <p role="status">"Your password was changed."</p> }.into_any()),
                    Some(Err(error)) => Some(view! { <ErrorAlert error/> }.into_any()),
                    None => None,
                }}
            </form>
        </section>
    }
}

/// Copies the access token for use in scripts (`Authorization: Bearer …`).
#[component]
fn CopyToken() -> impl IntoView {
    let session = use_session();
    let result = RwSignal::new(None::<Result<(), String>>);
    let copy = move |_| {
        result.set(None);
        leptos::task::spawn_local(async move {
            let copied = match session.access_token().await {
                Ok(token) => copy_to_clipboard(&token).await,
                Err(error) => Err(error.to_string()),
            };
            result.set(Some(copied));
        });
    };
    view! {
        <section class="card" aria-labelledby="token-title">
            <h2 id="token-title">"Access token for scripts"</h2>
            <p>
                "Scripts and tools can call the provisioner with this token in an "
                <code>"Authorization: Bearer …"</code>
                " header until it expires. Treat it like a password. For long-running work, sign in "
                "from the SlideRule Python client instead: it gets a token of its own."
            </p>
            <button type="button" class="button" on:click=copy>
                "Copy access token"
            </button>
            <p class="copy-result" role="status" aria-live="polite">
                {move || match result.get() {
                    Some(Ok(())) => "Copied to the clipboard.".to_owned(),
                    Some(Err(why)) => why,
                    None => String::new(),
                }}
            </p>
        </section>
    }
}

#[component]
fn SignOut() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let busy = RwSignal::new(false);
    let sign_out = move |_| {
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            session.sign_out().await;
            navigate("/", Default::default());
        });
    };
    view! {
        <section class="card" aria-labelledby="sign-out-title">
            <h2 id="sign-out-title">"Sign out"</h2>
            <p>"Signing out ends your session in every tab of this browser."</p>
            <button
                type="button"
                class="button button-danger"
                on:click=sign_out
                disabled=move || busy.get()
            >
                "Sign out of this browser"
            </button>
        </section>
    }
}

async fn copy_to_clipboard(text: &str) -> Result<(), String> {
    let clipboard = web_sys::window()
        .map(|w| w.navigator().clipboard())
        .ok_or("This browser has no clipboard access.")?;
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text))
        .await
        .map(|_| ())
        .map_err(|_| {
            "The browser did not allow copying. Allow clipboard access for this site and try again."
                .to_owned()
        })
}

fn roles_text(user: &crate::session::SignedIn) -> String {
    let roles = user.claims.org_roles.comma_joined();
    if roles.is_empty() {
        "none (not a member of the organization)".to_owned()
    } else {
        roles.replace(',', ", ")
    }
}

fn clusters_text(clusters: &[String]) -> String {
    if clusters.iter().any(|c| c == "*") {
        "every cluster (owner)".to_owned()
    } else if clusters.is_empty() {
        "none".to_owned()
    } else {
        clusters.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::clusters_text;

    #[test]
    fn an_owners_star_reads_as_every_cluster() {
        assert_eq!(clusters_text(&["*".into()]), "every cluster (owner)");
        assert_eq!(
            clusters_text(&["bob".into(), "icesat2".into()]),
            "bob, icesat2"
        );
        assert_eq!(clusters_text(&[]), "none");
    }
}
