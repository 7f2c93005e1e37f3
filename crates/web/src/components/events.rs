//! A cluster's stack events, newest first: what the cloud did and why.

use leptos::prelude::*;

use super::cluster::ClusterContext;
use crate::time::{iso, local_datetime};

#[component]
pub fn EventList() -> impl IntoView {
    let cluster = expect_context::<ClusterContext>();
    view! {
        <section class="card" aria-labelledby="events-title">
            <h2 id="events-title">"Events"</h2>
            {move || {
                let events = cluster.events.get();
                if events.is_empty() {
                    view! { <p class="hint">"No events yet. They appear once the cluster is deployed."</p> }
                        .into_any()
                } else {
                    view! {
                        <ol class="events">
                            {events
                                .into_iter()
                                .map(|event| {
                                    let at = event.timestamp.unix_timestamp();
                                    view! {
                                        <li>
                                            <time datetime=iso(at)>{local_datetime(at)}</time>
                                            <span class="event-resource">
                                                {event.logical_resource_id}
                                                <span class="hint">" (" {event.resource_type} ")"</span>
                                            </span>
                                            <span class="event-status">{event.resource_status}</span>
                                            {event
                                                .resource_status_reason
                                                .map(|reason| view! { <span class="event-reason">{reason}</span> })}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ol>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}
