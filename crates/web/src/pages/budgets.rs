//! `/budgets` (every budget the caller may see) and `/budgets/:account` (one budget: standing,
//! forecast, the balance over time, the ledger a page at a time, and for owners the adjust and
//! settings forms).

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use sliderule_protocol::Usd;
use sliderule_protocol::provisioner::{
    AdjustRequest, Budget, BudgetKind, LedgerEntry, LedgerKind, SettingsRequest,
};

use crate::api::{ApiError, Provisioner};
use crate::components::budget::{BalanceChart, BudgetBanner};
use crate::components::form::{SubmitRow, run_form};
use crate::components::gate::SignedInOnly;
use crate::components::status::{ErrorAlert, Loading};
use crate::components::title::set_page_title;
use crate::session::use_session;
use crate::time::{iso, local_datetime, now_secs};

/// The list of budgets.
#[component]
pub fn Budgets() -> impl IntoView {
    set_page_title("Budgets");
    view! {
        <h1>"Budgets"</h1>
        <SignedInOnly>
            <BudgetList/>
        </SignedInOnly>
    }
}

fn kind_label(kind: BudgetKind) -> &'static str {
    match kind {
        BudgetKind::Personal => "Personal",
        BudgetKind::Organization => "Organization",
    }
}

/// "runs out …" of a forecast.
fn runs_out_text(budget: &Budget) -> String {
    match budget.runs_out_at {
        Some(at) => format!("at {}", local_datetime(at.unix_timestamp())),
        None => "never at this rate (nothing runs)".to_owned(),
    }
}

#[component]
fn BudgetList() -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let loaded = RwSignal::new(None::<Result<Vec<Budget>, ApiError>>);
    leptos::task::spawn_local(async move {
        loaded.try_set(Some(provisioner.budgets().await));
    });
    move || {
        match loaded.get() {
        None => view! { <Loading what="the budgets"/> }.into_any(),
        Some(Err(error)) => view! { <ErrorAlert error/> }.into_any(),
        Some(Ok(budgets)) => view! {
            <ul class="cluster-grid" aria-label="Budgets">
                {budgets
                    .into_iter()
                    .map(|budget| {
                        let href = format!("/budgets/{}", budget.account);
                        let heading = format!("budget-{}", budget.account);
                        let name = budget.account.clone();
                        let labelled = heading.clone();
                        view! {
                            <li>
                                <article class="card" aria-labelledby=labelled>
                                    <h2 id=heading>
                                        <A href=href>{name}</A>
                                    </h2>
                                    <dl class="facts-list">
                                        <dt>"Kind"</dt>
                                        <dd>{kind_label(budget.kind)}</dd>
                                        <dt>"Balance"</dt>
                                        <dd>{format!("{} USD", budget.balance)}</dd>
                                        <dt>"Spending now"</dt>
                                        <dd>{format!("{} USD per hour", budget.burn_rate_per_hour)}</dd>
                                        <dt>"Runs out"</dt>
                                        <dd>{runs_out_text(&budget)}</dd>
                                    </dl>
                                    {budget.warning.then(|| view! {
                                        <p class="badge badge-bad">"Low: at most 10 % of the allowance left"</p>
                                    })}
                                </article>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any(),
    }
    }
}

/// One budget.
#[component]
pub fn BudgetPage() -> impl IntoView {
    let params = use_params_map();
    let account = move || params.with(|p| p.get("account").unwrap_or_default());
    view! {
        <h1>{move || format!("Budget of {}", account())}</h1>
        <p><A href="/budgets">"All budgets"</A></p>
        <SignedInOnly>
            {move || {
                let account = account();
                set_page_title(&format!("Budget of {account}"));
                view! { <BudgetDetail account/> }
            }}
        </SignedInOnly>
    }
}

#[component]
fn BudgetDetail(account: String) -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let owner = use_session().user().is_some_and(|u| u.is_owner());
    let account = StoredValue::new(account);
    let budget = RwSignal::new(None::<Result<Budget, ApiError>>);
    // Older ledger pages, appended below the newest.
    let older = RwSignal::new(Vec::<LedgerEntry>::new());
    let no_more = RwSignal::new(false);
    let load = move || {
        leptos::task::spawn_local(async move {
            let answer = provisioner.budget(&account.get_value(), None).await;
            older.try_set(Vec::new());
            no_more.try_set(false);
            budget.try_set(Some(answer));
        });
    };
    load();
    let load_older = move |_| {
        let last = older
            .with_untracked(|o| o.last().map(|e| e.id))
            .or_else(|| {
                budget.with_untracked(|b| {
                    b.as_ref()
                        .and_then(|b| b.as_ref().ok())
                        .and_then(|b| b.ledger.as_ref()?.last().map(|e| e.id))
                })
            });
        leptos::task::spawn_local(async move {
            if let Ok(page) = provisioner.budget(&account.get_value(), last).await {
                let entries = page.ledger.unwrap_or_default();
                no_more.try_set(entries.is_empty());
                older.try_update(|o| o.extend(entries));
            }
        });
    };
    let updated = Callback::new(move |fresh: Budget| {
        budget.try_set(Some(Ok(fresh)));
    });

    move || match budget.get() {
        None => view! { <Loading what="the budget"/> }.into_any(),
        Some(Err(error)) => {
            view! { <ErrorAlert error retry=Callback::new(move |()| load())/> }.into_any()
        }
        Some(Ok(current)) => {
            let now = now_secs();
            let newest = current.ledger.clone().unwrap_or_default();
            let page_full = newest.len() >= 500;
            view! {
                <BudgetBanner budget=Signal::derive(move || current_warning(&budget))/>
                <section class="card" aria-labelledby="standing-title">
                    <h2 id="standing-title">"Standing"</h2>
                    <dl class="facts-list">
                        <dt>"Kind"</dt>
                        <dd>{kind_label(current.kind)}</dd>
                        <dt>"Balance"</dt>
                        <dd data-testid="budget-balance">{format!("{} USD", current.balance)}</dd>
                        <dt>"Monthly allowance"</dt>
                        <dd>{format!("{} USD, on the 1st (UTC)", current.monthly_allowance)}</dd>
                        <dt>"Largest balance"</dt>
                        <dd>{format!("{} USD", current.max_balance)}</dd>
                        <dt>"Spending now"</dt>
                        <dd>{format!("{} USD per hour", current.burn_rate_per_hour)}</dd>
                        <dt>"Runs out"</dt>
                        <dd>{runs_out_text(&current)}</dd>
                    </dl>
                </section>
                <section class="card" aria-labelledby="chart-title">
                    <h2 id="chart-title">"Balance over time"</h2>
                    <BalanceChart budget=current.clone() now/>
                </section>
                {owner.then(|| view! {
                    <AdjustForm account=account.get_value() updated/>
                    <SettingsForm budget=current.clone() updated/>
                })}
                <section class="card" aria-labelledby="ledger-title">
                    <h2 id="ledger-title">"Ledger"</h2>
                    <div class="table-scroll">
                        <table>
                            <caption class="visually-hidden">"Every movement of the balance, newest first"</caption>
                            <thead>
                                <tr>
                                    <th scope="col">"When"</th>
                                    <th scope="col">"What"</th>
                                    <th scope="col">"Amount (USD)"</th>
                                    <th scope="col">"Balance (USD)"</th>
                                    <th scope="col">"Cluster"</th>
                                    <th scope="col">"Note"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {ledger_lines(&newest).into_iter().map(ledger_row).collect_view()}
                                {move || {
                                    older
                                        .with(|o| ledger_lines(o))
                                        .into_iter()
                                        .map(ledger_row)
                                        .collect_view()
                                }}
                            </tbody>
                        </table>
                    </div>
                    {(page_full).then(|| view! {
                        <button
                            type="button"
                            class="button"
                            on:click=load_older
                            disabled=move || no_more.get()
                        >
                            {move || if no_more.get() { "No older entries" } else { "Older entries" }}
                        </button>
                    })}
                </section>
            }
            .into_any()
        }
    }
}

/// The budget now, if loaded, for the banner.
fn current_warning(budget: &RwSignal<Option<Result<Budget, ApiError>>>) -> Option<Budget> {
    budget.with(|b| b.as_ref().and_then(|b| b.as_ref().ok()).cloned())
}

fn ledger_kind_label(kind: LedgerKind) -> &'static str {
    match kind {
        LedgerKind::Allowance => "Allowance",
        LedgerKind::Credit => "Credit",
        LedgerKind::Debit => "Debit",
        LedgerKind::Charge => "Charge",
        LedgerKind::Reconcile => "AWS correction",
    }
}

/// A line of the ledger table: one entry, or a run of consecutive charges of one cluster (the
/// demo charges every 5 s, a fraction of a cent each, which the wire rounds to 0.00).
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerLine {
    pub from: i64,
    pub to: i64,
    pub kind: LedgerKind,
    pub count: usize,
    pub amount: Usd,
    pub balance: Usd,
    pub cluster: Option<String>,
    pub note: String,
}

/// Lines of `entries` (newest first), runs of charges folded into one; a run's amount is the
/// change of the balance across it, exact to the cent however small each charge.
pub fn ledger_lines(entries: &[LedgerEntry]) -> Vec<LedgerLine> {
    let mut lines: Vec<LedgerLine> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let at = entry.at.unix_timestamp();
        let before = entries
            .get(index + 1)
            .map(|older| older.balance)
            .or_else(|| entry.balance.checked_sub(entry.amount))
            .unwrap_or(entry.balance);
        if let Some(last) = lines.last_mut()
            && last.kind == LedgerKind::Charge
            && entry.kind == LedgerKind::Charge
            && last.cluster == entry.cluster
        {
            last.count += 1;
            last.from = at;
            last.amount = last.balance.checked_sub(before).unwrap_or(last.amount);
            continue;
        }
        let note = match (&entry.note, &entry.actor) {
            (Some(note), Some(actor)) => format!("{note} ({actor})"),
            (Some(note), None) => note.clone(),
            _ => String::new(),
        };
        lines.push(LedgerLine {
            from: at,
            to: at,
            kind: entry.kind,
            count: 1,
            amount: entry.balance.checked_sub(before).unwrap_or(entry.amount),
            balance: entry.balance,
            cluster: entry.cluster.clone(),
            note,
        });
    }
    lines
}

fn ledger_row(line: LedgerLine) -> impl IntoView {
    let what = if line.count > 1 {
        format!("{} ×{}", ledger_kind_label(line.kind), line.count)
    } else {
        ledger_kind_label(line.kind).to_owned()
    };
    let when = if line.count > 1 {
        format!(
            "{} – {}",
            local_datetime(line.from),
            local_datetime(line.to)
        )
    } else {
        local_datetime(line.to)
    };
    view! {
        <tr>
            <td><time datetime=iso(line.to)>{when}</time></td>
            <td>{what}</td>
            <td class="number">{line.amount.to_string()}</td>
            <td class="number">{line.balance.to_string()}</td>
            <td>{line.cluster.unwrap_or_default()}</td>
            <td>{line.note}</td>
        </tr>
    }
}

/// An owner's credit or debit.
#[component]
fn AdjustForm(account: String, updated: Callback<Budget>) -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let amount = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let failed = RwSignal::new(None::<ApiError>);
    let sending = RwSignal::new(false);
    let account = StoredValue::new(account);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parsed = Usd::parse(&amount.get_untracked());
        let request = match parsed {
            Ok(amount) => AdjustRequest {
                account: account.get_value(),
                amount,
                note: note.get_untracked(),
            },
            Err(error) => {
                problem.set(Some(error.to_string()));
                return;
            }
        };
        if let Err(why) = request.check() {
            problem.set(Some(why));
            return;
        }
        problem.set(None);
        run_form(
            sending,
            failed,
            async move { provisioner.adjust(&request).await },
            move |budget| {
                amount.try_set(String::new());
                note.try_set(String::new());
                updated.run(budget);
            },
        );
    };
    view! {
        <section class="card" aria-labelledby="adjust-title">
            <h2 id="adjust-title">"Credit or debit"</h2>
            <form on:submit=submit novalidate>
                <div class="field-grid">
                    <div class="field">
                        <label for="adjust-amount">"Amount (USD)"</label>
                        <input
                            id="adjust-amount"
                            type="text"
                            inputmode="decimal"
                            aria-invalid=move || problem.get().is_some().to_string()
                            aria-describedby="adjust-amount-hint adjust-amount-error"
                            prop:value=move || amount.get()
                            on:input=move |ev| {
                                amount.set(event_target_value(&ev));
                                problem.set(None);
                            }
                        />
                        <p id="adjust-amount-hint" class="hint">
                            "Positive credits, negative debits; at most 1,000,000 either way"
                        </p>
                        <p id="adjust-amount-error" class="field-error" role="alert">
                            {move || problem.get()}
                        </p>
                    </div>
                    <div class="field">
                        <label for="adjust-note">"Note"</label>
                        <input
                            id="adjust-note"
                            type="text"
                            maxlength="500"
                            aria-describedby="adjust-note-hint"
                            prop:value=move || note.get()
                            on:input=move |ev| note.set(event_target_value(&ev))
                        />
                        <p id="adjust-note-hint" class="hint">"Why; kept in the ledger"</p>
                    </div>
                </div>
                <SubmitRow label="Apply" sending failed/>
            </form>
        </section>
    }
}

/// An owner's change of the allowance and the cap.
#[component]
fn SettingsForm(budget: Budget, updated: Callback<Budget>) -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let allowance = RwSignal::new(budget.monthly_allowance.to_string());
    let max_balance = RwSignal::new(budget.max_balance.to_string());
    let problem = RwSignal::new(None::<String>);
    let failed = RwSignal::new(None::<ApiError>);
    let sending = RwSignal::new(false);
    let account = StoredValue::new(budget.account.clone());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parse = |text: String, field: &str| {
            Usd::parse(&text).map_err(|e| e.to_string()).and_then(|v| {
                if v < Usd::ZERO {
                    Err(format!("{field} must not be negative"))
                } else {
                    Ok(v)
                }
            })
        };
        let request = match (
            parse(allowance.get_untracked(), "The monthly allowance"),
            parse(max_balance.get_untracked(), "The largest balance"),
        ) {
            (Ok(a), Ok(m)) => SettingsRequest {
                account: account.get_value(),
                monthly_allowance: Some(a),
                max_balance: Some(m),
            },
            (Err(why), _) | (_, Err(why)) => {
                problem.set(Some(why));
                return;
            }
        };
        problem.set(None);
        run_form(
            sending,
            failed,
            async move { provisioner.budget_settings(&request).await },
            move |budget| updated.run(budget),
        );
    };
    view! {
        <section class="card" aria-labelledby="settings-title">
            <h2 id="settings-title">"Allowance and cap"</h2>
            <form on:submit=submit novalidate>
                <div class="field-grid">
                    <div class="field">
                        <label for="settings-allowance">"Monthly allowance (USD)"</label>
                        <input
                            id="settings-allowance"
                            type="text"
                            inputmode="decimal"
                            aria-describedby="settings-error"
                            prop:value=move || allowance.get()
                            on:input=move |ev| allowance.set(event_target_value(&ev))
                        />
                    </div>
                    <div class="field">
                        <label for="settings-max">"Largest balance (USD)"</label>
                        <input
                            id="settings-max"
                            type="text"
                            inputmode="decimal"
                            aria-describedby="settings-error"
                            prop:value=move || max_balance.get()
                            on:input=move |ev| max_balance.set(event_target_value(&ev))
                        />
                    </div>
                </div>
                <p id="settings-error" class="field-error" role="alert">{move || problem.get()}</p>
                <SubmitRow label="Save" sending failed/>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entry(id: i64, kind: LedgerKind, amount: i64, balance: i64) -> LedgerEntry {
        LedgerEntry {
            id,
            at: datetime!(2026-12-03 9:00 UTC) + time::Duration::seconds(id * 5),
            kind,
            amount: Usd::from_micros(amount),
            balance: Usd::from_micros(balance),
            cluster: (kind == LedgerKind::Charge).then(|| "bob".to_owned()),
            note: None,
            actor: None,
        }
    }

    #[test]
    fn runs_of_charges_fold_into_one_line_with_the_balance_change() {
        // Newest first: three charges of 2,361 micro-dollars after an opening 100 USD.
        let entries = [
            entry(4, LedgerKind::Charge, -2_361, 99_992_917),
            entry(3, LedgerKind::Charge, -2_361, 99_995_278),
            entry(2, LedgerKind::Charge, -2_361, 99_997_639),
            entry(1, LedgerKind::Allowance, 100_000_000, 100_000_000),
        ];
        let lines = ledger_lines(&entries);
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].kind, lines[0].count), (LedgerKind::Charge, 3));
        assert_eq!(lines[0].amount, Usd::from_micros(-7_083));
        assert_eq!(lines[0].amount.to_string(), "-0.01");
        assert_eq!(lines[1].amount, Usd::from_dollars(100));
    }
}
