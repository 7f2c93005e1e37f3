//! Budgets as the pages show them: what a deploy would cost against the balance that pays for
//! it (the server's own arithmetic and sentence, from the `protocol` crate), the low-balance
//! banner, and the balance over time drawn as inline SVG with the forecast to `runs_out_at`.

use leptos::prelude::*;
use sliderule_protocol::provisioner::{Budget, LedgerEntry};
use sliderule_protocol::{InsufficientFunds, NodeCapacity, Pricing, Ttl, Usd};

use crate::time::local_datetime;

/// The prices and the budget that would pay for a cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Funds {
    pub pricing: Pricing,
    pub budget: Budget,
}

/// What `nodes` for `ttl` minutes (as typed) would cost, or the server's refusal; `None` while
/// the input is not a usable number.
pub fn projected(funds: &Funds, nodes: &str, ttl: &str) -> Option<Result<Usd, InsufficientFunds>> {
    let nodes = NodeCapacity::parse(nodes.trim()).ok()?.get();
    let minutes = Ttl::parse(ttl.trim()).ok()?.minutes();
    Some(funds.pricing.check_affordable(
        &funds.budget.account,
        funds.budget.balance,
        nodes,
        u64::from(minutes),
    ))
}

/// The banner of a budget with at most 10 % of its allowance left.
#[component]
pub fn BudgetBanner(#[prop(into)] budget: Signal<Option<Budget>>) -> impl IntoView {
    move || {
        budget.get().filter(|b| b.warning).map(|b| {
            view! {
                <div class="alert alert-warning" role="status" data-testid="budget-warning">
                    <p>
                        <strong>"Low budget: "</strong>
                        {format!(
                            "{} has {} USD left of its {} USD monthly allowance. ",
                            b.account,
                            b.balance,
                            b.monthly_allowance,
                        )}
                        "Its clusters are destroyed when the balance reaches zero. "
                        <a href=format!("/budgets/{}", b.account)>"See the budget"</a>
                    </p>
                </div>
            }
        })
    }
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const PAD: f64 = 8.0;

/// Points of the chart: the balance after each entry, oldest first, then now.
fn history(ledger: &[LedgerEntry], balance: Usd, now: i64) -> Vec<(i64, Usd)> {
    let mut points: Vec<(i64, Usd)> = ledger
        .iter()
        .rev()
        .map(|e| (e.at.unix_timestamp(), e.balance))
        .collect();
    points.push((now, balance));
    points
}

/// The SVG path of `points` scaled into the chart, `M x y L x y …`.
pub fn path_of(points: &[(i64, Usd)], (t0, t1): (i64, i64), (low, high): (i64, i64)) -> String {
    let span_t = (t1 - t0).max(1) as f64;
    let span_v = (high - low).max(1) as f64;
    points
        .iter()
        .enumerate()
        .map(|(i, (t, v))| {
            let x = PAD + (WIDTH - 2.0 * PAD) * ((t - t0) as f64 / span_t);
            let y = PAD + (HEIGHT - 2.0 * PAD) * (1.0 - (v.micros() - low) as f64 / span_v);
            format!("{}{x:.1} {y:.1}", if i == 0 { "M" } else { " L" })
        })
        .collect()
}

/// The balance over time with the forecast line to `runs_out_at`, as inline SVG.
#[component]
pub fn BalanceChart(budget: Budget, now: i64) -> impl IntoView {
    let ledger = budget.ledger.clone().unwrap_or_default();
    let points = history(&ledger, budget.balance, now);
    let runs_out = budget.runs_out_at.map(|t| t.unix_timestamp());
    let t0 = points.first().map_or(now, |p| p.0);
    let t1 = runs_out.unwrap_or(now).max(now).max(t0 + 1);
    let low = points
        .iter()
        .map(|p| p.1.micros())
        .min()
        .unwrap_or(0)
        .min(0);
    let high = points
        .iter()
        .map(|p| p.1.micros())
        .max()
        .unwrap_or(0)
        .max(1);
    let balance_path = path_of(&points, (t0, t1), (low, high));
    let forecast = runs_out.map(|at| {
        path_of(
            &[(now, budget.balance), (at, Usd::ZERO)],
            (t0, t1),
            (low, high),
        )
    });
    let zero_y = PAD + (HEIGHT - 2.0 * PAD) * (1.0 - (0 - low) as f64 / (high - low).max(1) as f64);
    let label = match budget.runs_out_at {
        Some(at) => format!(
            "Balance of {} over time: {} USD now; at {} USD per hour it runs out at {}.",
            budget.account,
            budget.balance,
            budget.burn_rate_per_hour,
            local_datetime(at.unix_timestamp())
        ),
        None => format!(
            "Balance of {} over time: {} USD now; nothing runs, so it stays there.",
            budget.account, budget.balance
        ),
    };
    view! {
        <figure class="chart">
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-label=label.clone()
                preserveAspectRatio="none"
                data-testid="balance-chart"
            >
                <line
                    class="chart-zero"
                    x1=PAD
                    x2=WIDTH - PAD
                    y1=format!("{zero_y:.1}")
                    y2=format!("{zero_y:.1}")
                ></line>
                <path class="chart-balance" d=balance_path></path>
                {forecast.map(|d| view! { <path class="chart-forecast" d=d></path> })}
            </svg>
            <figcaption>{label}</figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sliderule_protocol::provisioner::BudgetKind;

    fn funds(balance: Usd) -> Funds {
        Funds {
            pricing: Pricing::DEMO,
            budget: Budget {
                account: "bob".into(),
                kind: BudgetKind::Personal,
                balance,
                monthly_allowance: Usd::from_dollars(100),
                max_balance: Usd::from_dollars(200),
                burn_rate_per_hour: Usd::ZERO,
                runs_out_at: None,
                runs_out_at_max: None,
                warning: false,
                ledger: None,
            },
        }
    }

    #[test]
    fn the_projection_is_the_servers_cost_and_refusal_sentence() {
        assert_eq!(
            projected(&funds(Usd::from_dollars(100)), "3", "90"),
            Some(Ok(Usd::from_cents(255)))
        );
        let refused = projected(&funds(Usd::from_dollars(1)), " 3 ", "60")
            .unwrap()
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "3 nodes for 60 minutes cost 1.70 USD but the balance of bob is 1.00 USD; it affords at most 35 minutes"
        );
        assert_eq!(projected(&funds(Usd::from_dollars(1)), "many", "60"), None);
    }

    #[test]
    fn the_chart_spans_the_history_and_the_forecast() {
        let points = [(0, Usd::from_dollars(10)), (100, Usd::ZERO)];
        let path = path_of(&points, (0, 100), (0, 10_000_000));
        assert_eq!(path, "M8.0 8.0 L632.0 212.0");
    }
}
