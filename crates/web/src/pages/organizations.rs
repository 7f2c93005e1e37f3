//! `/organizations`: every organization (a shared cluster), where the signed-in person stands in
//! each, and "Request membership" for those they do not belong to. Open to everyone signed in:
//! people outside the GitHub organization join organizations this way.

use leptos::prelude::*;
use leptos_router::components::A;
use sliderule_protocol::ClusterName;
use sliderule_protocol::organizations::{
    CreateOrganizationRequest, MembershipState, Organization, Standing,
};

use crate::api::{ApiError, Provisioner};
use crate::components::form::{BoundsFields, SubmitRow, run_form};
use crate::components::gate::SignedInOnly;
use crate::components::status::{ErrorAlert, Loading};
use crate::components::title::set_page_title;
use crate::session::use_session;

/// The organizations page.
#[component]
pub fn Organizations() -> impl IntoView {
    set_page_title("Organizations");
    view! {
        <h1>"Organizations"</h1>
        <p class="lead">
            "An organization shares one cluster among its members: each asks for nodes for a while, "
            "and the cluster grows, shrinks and sleeps with their requests."
        </p>
        <SignedInOnly>
            <OrganizationList/>
        </SignedInOnly>
    }
}

#[component]
fn OrganizationList() -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let session = use_session();
    let list = RwSignal::new(None::<Result<Vec<Organization>, ApiError>>);
    let load = move || {
        leptos::task::spawn_local(async move {
            let loaded = provisioner.organizations().await;
            // A membership approved since this token was issued: a fresh token carries it.
            if let (Ok(orgs), Some(user)) = (&loaded, session.user())
                && orgs.iter().any(|o| {
                    o.standing != Standing::Outsider && !user.claims.may_use_cluster(&o.name)
                })
            {
                let _ = session.refresh().await;
            }
            list.try_set(Some(loaded));
        });
    };
    load();
    let owner = session.user().is_some_and(|u| u.is_owner());
    let listing = move || {
        match list.get() {
        None => view! { <Loading what="the organizations"/> }.into_any(),
        Some(Err(error)) => {
            view! { <ErrorAlert error retry=Callback::new(move |()| load())/> }.into_any()
        }
        Some(Ok(orgs)) if orgs.is_empty() => {
            view! { <p>"There are no organizations yet. Owners create them."</p> }.into_any()
        }
        Some(Ok(orgs)) => view! {
            <ul class="org-list">
                {orgs
                    .into_iter()
                    .map(|org| view! { <li><OrganizationCard org reload=Callback::new(move |()| load())/></li> })
                    .collect_view()}
            </ul>
        }
        .into_any(),
    }
    };
    view! {
        {listing}
        {owner.then(|| view! { <CreateOrganization created=Callback::new(move |()| load())/> })}
    }
}

/// An owner creates an organization (a team's cluster becomes one by taking its name).
#[component]
fn CreateOrganization(created: Callback<()>) -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let name = RwSignal::new(String::new());
    let min = RwSignal::new("0".to_owned());
    let max = RwSignal::new("6".to_owned());
    let problem = RwSignal::new(None::<String>);
    let failed = RwSignal::new(None::<ApiError>);
    let sending = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let organization = match ClusterName::parse(name.get_untracked().trim()) {
            Ok(name) => name,
            Err(error) => {
                problem.set(Some(error.to_string()));
                return;
            }
        };
        let (Ok(min_nodes), Ok(max_nodes)) = (
            min.get_untracked().trim().parse::<u32>(),
            max.get_untracked().trim().parse::<u32>(),
        ) else {
            problem.set(Some("Give whole numbers of nodes.".into()));
            return;
        };
        problem.set(None);
        let request = CreateOrganizationRequest {
            organization,
            min_nodes,
            max_nodes,
            version: None,
            is_public: false,
            admins: Vec::new(),
        };
        run_form(
            sending,
            failed,
            async move { provisioner.create_organization(&request).await },
            move |_| {
                name.try_set(String::new());
                created.run(());
            },
        );
    };
    view! {
        <section class="card" aria-labelledby="create-org-title">
            <h2 id="create-org-title">"Create an organization (owners)"</h2>
            <form on:submit=submit novalidate>
                <div class="field">
                    <label for="create-org-name">"Name (also its cluster's)"</label>
                    <input
                        id="create-org-name"
                        autocomplete="off"
                        aria-describedby="create-org-error"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </div>
                <BoundsFields id="create-org" min max min_label="Minimum nodes"/>
                <p id="create-org-error" class="field-error" role="alert">{move || problem.get()}</p>
                <SubmitRow label="Create" sending failed/>
            </form>
        </section>
    }
}

/// Where the caller stands, in words.
pub fn standing_text(standing: Standing, membership: MembershipState) -> &'static str {
    match (standing, membership) {
        (Standing::Admin, _) => "You administer this organization.",
        (Standing::Member, _) => "You are a member.",
        (Standing::Outsider, MembershipState::Pending) => {
            "You asked to join; an admin has not decided yet."
        }
        (Standing::Outsider, MembershipState::Denied) => {
            "Your request to join was denied. You may ask again."
        }
        (Standing::Outsider, MembershipState::Deactivated) => {
            "Your membership was deactivated. You may ask again."
        }
        (Standing::Outsider, _) => "You are not a member.",
    }
}

#[component]
fn OrganizationCard(org: Organization, reload: Callback<()>) -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let failed = RwSignal::new(None::<ApiError>);
    let sending = RwSignal::new(false);
    let name = org.name.clone();
    let title_id = format!("org-{}", org.name);
    let labelled_by = title_id.clone();
    let may_ask = org.standing == Standing::Outsider && org.membership != MembershipState::Pending;
    let ask = move |_| {
        let name = name.clone();
        run_form(
            sending,
            failed,
            async move { provisioner.request_membership(&name).await },
            move |_| reload.run(()),
        );
    };
    let cluster_link =
        (org.standing != Standing::Outsider).then(|| format!("/clusters/{}", org.name));
    let label = format!("Request membership of {}", org.name);
    view! {
        <section class="card org-card" aria-labelledby=labelled_by data-testid="org-card">
            <h2 id=title_id>{org.name.to_string()}</h2>
            <p class="org-standing" data-testid="org-standing">
                {standing_text(org.standing, org.membership)}
            </p>
            <dl class="cluster-facts">
                <dt>"Nodes"</dt>
                <dd>{format!("{} to {}, {} now asked for", org.min_nodes, org.max_nodes, org.target_nodes)}</dd>
                <dt>"Version"</dt>
                <dd>{org.version.clone()}</dd>
                <dt>"Admins"</dt>
                <dd>{if org.admins.is_empty() { "the owners".to_owned() } else { org.admins.join(", ") }}</dd>
            </dl>
            <div class="actions">
                {cluster_link.map(|href| view! { <A href=href attr:class="button">"Open its cluster"</A> })}
                {may_ask
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="button button-primary"
                                aria-label=label.clone()
                                on:click=ask.clone()
                                disabled=move || sending.get()
                            >
                                "Request membership"
                            </button>
                        }
                    })}
            </div>
            {move || failed.get().map(|error| view! { <ErrorAlert error/> })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standing_reads_as_a_sentence() {
        assert_eq!(
            standing_text(Standing::Outsider, MembershipState::Pending),
            "You asked to join; an admin has not decided yet."
        );
        assert_eq!(
            standing_text(Standing::Admin, MembershipState::None),
            "You administer this organization."
        );
        assert_eq!(
            standing_text(Standing::Outsider, MembershipState::None),
            "You are not a member."
        );
    }
}
