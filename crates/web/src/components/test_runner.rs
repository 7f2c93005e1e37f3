//! The test runner on the owners' Report page (provisioner.md, "Test runner"): start a run for
//! a branch, and read a branch's latest summary (its overall status and each suite's counts).

use leptos::prelude::*;
use sliderule_protocol::provisioner::{Branch, BranchRequest};

use super::form::{SubmitRow, run_form};
use super::status::ErrorAlert;
use crate::api::{ApiError, Provisioner};
use crate::time::local_datetime;

/// The suites a summary reports, in upstream's names.
const SUITES: [&str; 4] = ["selftest", "sliderule", "provisioner", "ams"];

#[component]
pub fn TestRunner() -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let branch = RwSignal::new("main".to_owned());
    let problem = RwSignal::new(None::<String>);
    let started = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);
    let failed = RwSignal::new(None::<ApiError>);
    let summary = RwSignal::new(None::<Result<serde_json::Value, ApiError>>);
    let reading = RwSignal::new(false);

    let request = move || match Branch::parse(branch.get_untracked().trim()) {
        Ok(branch) => {
            problem.set(None);
            Some(BranchRequest {
                branch: Some(branch),
            })
        }
        Err(why) => {
            problem.set(Some(why.to_string()));
            None
        }
    };
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(request) = request() else {
            return;
        };
        let call = async move { provisioner.start_test_run(&request).await };
        run_form(sending, failed, call, move |run| {
            started.try_set(Some(format!(
                "A run of {} started; its stack goes at {}.",
                run.branch,
                local_datetime(run.auto_shutdown.unix_timestamp())
            )));
        });
    };
    let read = move |_| {
        let Some(request) = request() else {
            return;
        };
        reading.set(true);
        leptos::task::spawn_local(async move {
            let answer = provisioner.test_summary(&request).await;
            summary.try_set(Some(answer));
            reading.try_set(false);
        });
    };

    view! {
        <section class="card" aria-labelledby="tests-title" data-testid="test-runner">
            <h2 id="tests-title">"Tests"</h2>
            <form on:submit=start novalidate>
                <div class="field">
                    <label for="test-branch">"Branch"</label>
                    <input
                        id="test-branch"
                        type="text"
                        prop:value=move || branch.get()
                        on:input=move |ev| branch.set(event_target_value(&ev))
                    />
                </div>
                {move || {
                    problem.get().map(|why| view! { <p class="field-error" role="alert">{why}</p> })
                }}
                <SubmitRow label="Start a test run" sending failed/>
            </form>
            {move || started.get().map(|text| view! { <p role="status">{text}</p> })}
            <div class="actions">
                <button type="button" class="button" disabled=move || reading.get() on:click=read>
                    "Read the latest summary"
                </button>
            </div>
            {move || match summary.get() {
                None => ().into_any(),
                Some(Err(error)) => view! { <ErrorAlert error/> }.into_any(),
                Some(Ok(summary)) => view! { <Summary summary/> }.into_any(),
            }}
        </section>
    }
}

/// A summary: its branch, date and status, and each suite's counts.
#[component]
fn Summary(summary: serde_json::Value) -> impl IntoView {
    let text = |value: &serde_json::Value| match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".to_owned(),
        other => other.to_string(),
    };
    let head = format!(
        "{} of {} ({}): {}",
        text(&summary["branch"]),
        text(&summary["date"]),
        text(&summary["latest"]),
        text(&summary["status"])
    );
    let rows = SUITES
        .iter()
        .filter(|suite| summary.get(**suite).is_some())
        .map(|suite| {
            let s = &summary[*suite];
            view! {
                <tr>
                    <th scope="row">{*suite}</th>
                    <td>{text(&s["state"])}</td>
                    <td>{text(&s["passed"])}</td>
                    <td>{text(&s["failed"])}</td>
                    <td>{text(&s["errors"])}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p data-testid="test-summary">{head}</p>
        <table class="report">
            <caption class="visually-hidden">"Test suites"</caption>
            <thead>
                <tr>
                    <th scope="col">"Suite"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Passed"</th>
                    <th scope="col">"Failed"</th>
                    <th scope="col">"Errors"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
