//! The Deploy / Update form of a cluster's page.
//!
//! The input is checked with the protocol crate's types and limits before anything is sent, so
//! the page and the server give the same sentences. Above ten nodes the user confirms the count
//! in a dialog; while a request runs the form cannot be sent again.

use leptos::html;
use leptos::prelude::*;
use sliderule_protocol::provisioner::DeployRequest;
use sliderule_protocol::{ClusterName, Limits, Ttl, Version};

use super::budget::projected;
use super::cluster::{ClusterContext, deploy_blocked};
use super::status::ErrorAlert;
use crate::api::{ApiError, Provisioner};
use crate::session::use_session;
use crate::time::{countdown, local_datetime, minutes_label, now_secs};

/// TTL presets offered when within the caller's maximum, minutes.
pub const PRESETS: [u32; 4] = [15, 60, 240, 720];

/// Node counts above this ask for a confirmation.
pub const CONFIRM_ABOVE: u32 = 10;

/// What was typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeployInput {
    pub nodes: String,
    pub ttl: String,
    pub version: String,
    pub public: bool,
}

/// What is wrong with each field, in the server's words.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeployProblems {
    pub nodes: Option<String>,
    pub ttl: Option<String>,
    pub version: Option<String>,
}

/// Turns the input into a request, or says what is wrong with each field.
pub fn check_deploy(
    cluster: &ClusterName,
    input: &DeployInput,
    limits: Limits,
) -> Result<DeployRequest, DeployProblems> {
    let nodes = limits.capacity_from_text(&input.nodes);
    let ttl = limits.ttl_from_text(&input.ttl);
    let version_text = input.version.trim();
    let version = if version_text.is_empty() {
        Ok(Version::latest())
    } else {
        Version::parse(version_text).map_err(|e| e.to_string())
    };
    match (nodes, ttl, version) {
        (Ok(nodes), Ok(ttl), Ok(version)) => {
            let mut request = DeployRequest::new(cluster.clone(), nodes, ttl);
            request.version = Some(version);
            request.is_public = input.public.then_some(true);
            Ok(request)
        }
        (nodes, ttl, version) => Err(DeployProblems {
            nodes: nodes.err(),
            ttl: ttl.err(),
            version: version.err(),
        }),
    }
}

/// The auto-shutdown a TTL would set if sent now, for the preview; `None` for unusable input.
pub fn preview(ttl_text: &str, now: i64) -> Option<(i64, String)> {
    let minutes = Ttl::parse(ttl_text.trim()).ok()?.minutes();
    let at = now + i64::from(minutes) * 60;
    Some((at, countdown(at - now)))
}

#[component]
pub fn DeployForm() -> impl IntoView {
    let cluster = expect_context::<ClusterContext>();
    let provisioner = expect_context::<Provisioner>();
    let owner = use_session().user().is_some_and(|u| u.is_owner());

    let initial_nodes = cluster
        .status
        .with_untracked(|s| s.as_ref().map_or(1, |s| s.node_capacity.get()));
    let nodes = RwSignal::new(initial_nodes.to_string());
    let ttl = RwSignal::new("60".to_owned());
    let version = RwSignal::new("latest".to_owned());
    let public = RwSignal::new(false);
    let problems = RwSignal::new(DeployProblems::default());
    let failed = RwSignal::new(None::<ApiError>);
    let sending = RwSignal::new(false);
    let confirming = RwSignal::new(None::<DeployRequest>);
    let dialog = NodeRef::<html::Dialog>::new();

    let live = move || cluster.state().is_live();
    // What it would cost, or the server's refusal, while the input is usable and budgets are on.
    let funds_check = move || {
        cluster
            .funds
            .get()
            .and_then(|funds| projected(&funds, &nodes.get(), &ttl.get()))
    };
    let unaffordable = move || funds_check().and_then(|check| check.err());
    let blocked = move || {
        cluster
            .blocked_by_destroy()
            .map(str::to_owned)
            .or_else(|| deploy_blocked(cluster.state()).map(str::to_owned))
            .or_else(|| {
                unaffordable().map(|_| "The budget cannot pay for this; see above.".to_owned())
            })
    };
    let title = move || if live() { "Update" } else { "Deploy" };

    let send = move |request: DeployRequest| {
        sending.set(true);
        failed.set(None);
        leptos::task::spawn_local(async move {
            match provisioner.deploy(&request).await {
                Ok(status) => {
                    cluster.status.set(Some(status));
                    cluster.reload();
                }
                Err(error) => failed.set(Some(error)),
            }
            sending.set(false);
        });
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if sending.get_untracked() || blocked().is_some() {
            return;
        }
        let input = DeployInput {
            nodes: nodes.get_untracked(),
            ttl: ttl.get_untracked(),
            version: version.get_untracked(),
            public: public.get_untracked(),
        };
        let checked = cluster
            .cluster
            .with_value(|c| check_deploy(c, &input, cluster.limits.get_untracked()));
        match checked {
            Err(found) => problems.set(found),
            Ok(request) => {
                problems.set(DeployProblems::default());
                if request.node_capacity.get() > CONFIRM_ABOVE {
                    confirming.set(Some(request));
                    if let Some(dialog) = dialog.get() {
                        let _ = dialog.show_modal();
                    }
                } else {
                    send(request);
                }
            }
        }
    };

    let close_dialog = move || {
        if let Some(dialog) = dialog.get() {
            dialog.close();
        }
    };
    let confirm = move |_| {
        close_dialog();
        if let Some(request) = confirming.get_untracked() {
            confirming.set(None);
            send(request);
        }
    };
    let cancel = move |_| {
        close_dialog();
        confirming.set(None);
    };

    let presets = move || {
        let max = cluster.limits.get().max_ttl;
        PRESETS
            .into_iter()
            .filter(|p| *p <= max)
            .map(|minutes| {
                let pressed = move || (ttl.get().trim() == minutes.to_string()).to_string();
                view! {
                    <button
                        type="button"
                        class="chip"
                        aria-pressed=pressed
                        on:click=move |_| {
                            ttl.set(minutes.to_string());
                            problems.update(|p| p.ttl = None);
                        }
                    >
                        {minutes_label(minutes)}
                    </button>
                }
            })
            .collect_view()
    };

    let field_error = move |id: &'static str, text: Signal<Option<String>>| {
        view! {
            <p id=id class="field-error" role="alert">
                {move || text.get()}
            </p>
        }
    };
    let nodes_problem = Signal::derive(move || problems.get().nodes);
    let ttl_problem = Signal::derive(move || problems.get().ttl);
    let version_problem = Signal::derive(move || problems.get().version);

    view! {
        <section class="card" aria-labelledby="deploy-title">
            <h2 id="deploy-title">{title}</h2>
            <form on:submit=submit novalidate>
                <div class="field-grid">
                    <div class="field">
                        <label for="deploy-nodes">"Nodes"</label>
                        <input
                            id="deploy-nodes"
                            type="number"
                            inputmode="numeric"
                            min="1"
                            max=move || cluster.limits.get().max_nodes.to_string()
                            aria-invalid=move || nodes_problem.get().is_some().to_string()
                            aria-describedby="deploy-nodes-hint deploy-nodes-error"
                            prop:value=move || nodes.get()
                            on:input=move |ev| {
                                nodes.set(event_target_value(&ev));
                                problems.update(|p| p.nodes = None);
                            }
                        />
                        <p id="deploy-nodes-hint" class="hint">
                            {move || format!("1 to {}", cluster.limits.get().max_nodes)}
                        </p>
                        {field_error("deploy-nodes-error", nodes_problem)}
                    </div>
                    <div class="field">
                        <label for="deploy-ttl">"Time to live (minutes)"</label>
                        <input
                            id="deploy-ttl"
                            type="number"
                            inputmode="numeric"
                            min="15"
                            max=move || cluster.limits.get().max_ttl.to_string()
                            aria-invalid=move || ttl_problem.get().is_some().to_string()
                            aria-describedby="deploy-ttl-hint deploy-ttl-error"
                            prop:value=move || ttl.get()
                            on:input=move |ev| {
                                ttl.set(event_target_value(&ev));
                                problems.update(|p| p.ttl = None);
                            }
                        />
                        <div class="chips" role="group" aria-label="Time to live presets">
                            {presets}
                        </div>
                        <p id="deploy-ttl-hint" class="hint">
                            {move || {
                                format!(
                                    "15 minutes to {}",
                                    minutes_label(cluster.limits.get().max_ttl),
                                )
                            }}
                        </p>
                        {field_error("deploy-ttl-error", ttl_problem)}
                    </div>
                    <div class="field">
                        <label for="deploy-version">"Version"</label>
                        <input
                            id="deploy-version"
                            type="text"
                            autocomplete="off"
                            spellcheck="false"
                            aria-invalid=move || version_problem.get().is_some().to_string()
                            aria-describedby="deploy-version-hint deploy-version-error"
                            prop:value=move || version.get()
                            on:input=move |ev| {
                                version.set(event_target_value(&ev));
                                problems.update(|p| p.version = None);
                            }
                        />
                        <p id="deploy-version-hint" class="hint">
                            "A release such as v4.9.0, or latest"
                        </p>
                        {field_error("deploy-version-error", version_problem)}
                    </div>
                    {owner
                        .then(|| {
                            view! {
                                <div class="field check">
                                    <input
                                        id="deploy-public"
                                        type="checkbox"
                                        aria-describedby="deploy-public-hint"
                                        prop:checked=move || public.get()
                                        disabled=live
                                        on:change=move |ev| public.set(event_target_checked(&ev))
                                    />
                                    <label for="deploy-public">"Public"</label>
                                    <p id="deploy-public-hint" class="hint">
                                        {move || {
                                            if live() {
                                                "Public or private is chosen at the first deploy and cannot change while the cluster runs."
                                            } else {
                                                "Anyone may use a public cluster without signing in."
                                            }
                                        }}
                                    </p>
                                </div>
                            }
                        })}
                </div>
                <p class="preview" aria-live="polite">
                    {move || {
                        preview(&ttl.get(), now_secs())
                            .map(|(at, left)| {
                                format!("Auto-shutdown will be at {} (in {left}).", local_datetime(at))
                            })
                    }}
                </p>
                {move || {
                    cluster
                        .funds
                        .get()
                        .map(|funds| {
                            let account = funds.budget.account.clone();
                            let balance = funds.budget.balance;
                            view! {
                                <p class="cost" aria-live="polite" data-testid="deploy-cost">
                                    {move || match funds_check() {
                                        Some(Ok(cost)) => {
                                            format!(
                                                "Projected cost: {cost} USD, paid from the budget of {account} ({balance} USD left).",
                                            )
                                        }
                                        Some(Err(_)) => String::new(),
                                        None => {
                                            format!("The budget of {account} has {balance} USD left.")
                                        }
                                    }}
                                </p>
                            }
                        })
                }}
                {move || {
                    unaffordable()
                        .map(|refused| {
                            view! {
                                <div
                                    class="alert alert-error"
                                    role="alert"
                                    data-testid="deploy-funds"
                                >
                                    <p>{refused.to_string()}</p>
                                    <p>
                                        "Choose fewer nodes or a shorter time, or ask an owner to credit the budget."
                                    </p>
                                </div>
                            }
                        })
                }}
                <div class="actions">
                    <button
                        type="submit"
                        class="button button-primary"
                        disabled=move || sending.get() || blocked().is_some()
                        aria-describedby="deploy-blocked"
                        title=move || blocked().unwrap_or_default()
                    >
                        {move || if sending.get() { "Sending…" } else { title() }}
                    </button>
                    <p id="deploy-blocked" class="hint">
                        {move || blocked()}
                    </p>
                </div>
                {move || failed.get().map(|error| view! { <ErrorAlert error/> })}
            </form>
            <dialog node_ref=dialog aria-labelledby="confirm-title" class="confirm-dialog">
                <h3 id="confirm-title">
                    {move || {
                        confirming
                            .get()
                            .map(|r| format!("Deploy {} nodes?", r.node_capacity.get()))
                    }}
                </h3>
                <p>
                    "A large cluster costs more for every hour it runs. Check the number before you go on."
                </p>
                <div class="actions">
                    <button type="button" class="button button-primary" on:click=confirm>
                        {move || {
                            confirming
                                .get()
                                .map(|r| format!("Deploy {} nodes", r.node_capacity.get()))
                        }}
                    </button>
                    <button type="button" class="button" on:click=cancel>
                        "Cancel"
                    </button>
                </div>
            </dialog>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(nodes: &str, ttl: &str) -> DeployInput {
        DeployInput {
            nodes: nodes.into(),
            ttl: ttl.into(),
            version: "latest".into(),
            public: false,
        }
    }

    fn bob() -> ClusterName {
        ClusterName::parse("bob").unwrap()
    }

    #[test]
    fn limits_are_refused_in_the_servers_words() {
        let problems = check_deploy(&bob(), &input("11", "721"), Limits::MEMBER).unwrap_err();
        assert_eq!(
            problems.nodes.as_deref(),
            Some("node_capacity of 11 exceeds your maximum of 10 nodes")
        );
        assert!(problems.ttl.unwrap().starts_with("ttl of 721"));
        assert_eq!(problems.version, None);
    }

    #[test]
    fn a_valid_form_becomes_a_deploy_request() {
        let request = check_deploy(&bob(), &input(" 3 ", "30"), Limits::MEMBER).unwrap();
        assert_eq!(request.node_capacity.get(), 3);
        assert_eq!(request.ttl.minutes(), 30);
        assert_eq!(request.is_public, None);
    }

    #[test]
    fn words_and_bad_versions_are_refused_naming_the_field() {
        let mut bad = input("many", "60");
        bad.version = "no spaces".into();
        let problems = check_deploy(&bob(), &bad, Limits::MEMBER).unwrap_err();
        assert!(problems.nodes.unwrap().contains("node_capacity"));
        assert!(problems.version.is_some());
    }

    #[test]
    fn the_preview_is_now_plus_the_ttl() {
        assert_eq!(preview("30", 1_000), Some((2_800, "30 min 00 s".into())));
        assert_eq!(preview("soon", 1_000), None);
    }
}
