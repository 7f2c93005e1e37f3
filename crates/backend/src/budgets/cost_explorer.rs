//! AWS's own figure for what each cluster cost on a day: Cost Explorer's `GetCostAndUsage`
//! (DAILY granularity, `UnblendedCost`), grouped by the `sliderule:cluster` cost-allocation tag
//! that the CloudFormation driver puts on every stack. Behind [`CostSource`] so the
//! reconciliation (`super::reconcile`) is plain code over any source.

use async_trait::async_trait;
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity, GroupDefinition, GroupDefinitionType,
};
use sliderule_protocol::Usd;
use time::Date;

/// The cost-allocation tag that names a stack's cluster.
pub const CLUSTER_TAG: &str = "sliderule:cluster";

/// Cost Explorer answers only in this region.
pub const REGION: &str = "us-east-1";

/// Cost Explorer failed or answered something we cannot read.
#[derive(Debug, thiserror::Error)]
#[error("Cost Explorer: {0}")]
pub struct CostError(pub String);

#[async_trait]
pub trait CostSource: Send + Sync + 'static {
    /// What each tagged cluster cost on `day` (UTC), by cluster name.
    async fn daily_costs(&self, day: Date) -> Result<Vec<(String, Usd)>, CostError>;
}

/// `2026-12-02`, as Cost Explorer writes days.
pub fn day_text(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// Cost Explorer's amounts carry up to ten decimals (`"0.0101516483"`): rounded half up to the
/// micro-dollar.
pub fn parse_amount(text: &str) -> Result<Usd, CostError> {
    let invalid = || CostError(format!("amount {text:?} is not a number of dollars"));
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| invalid())?;
    let mut micros: i64 = 0;
    for (position, digit) in fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(7)
        .enumerate()
    {
        let digit = i64::from(digit - b'0');
        if position < 6 {
            micros = micros * 10 + digit;
        } else if digit >= 5 {
            micros += 1;
        }
    }
    let total = whole
        .checked_mul(1_000_000)
        .and_then(|w| w.checked_add(micros))
        .ok_or_else(invalid)?;
    Ok(Usd::from_micros(if negative { -total } else { total }))
}

/// Cost Explorer through the AWS SDK.
pub struct CostExplorer {
    client: aws_sdk_costexplorer::Client,
}

impl CostExplorer {
    /// A client on `sdk` (its region is replaced by Cost Explorer's own).
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        let config = aws_sdk_costexplorer::config::Builder::from(sdk)
            .region(aws_config::Region::new(REGION))
            .build();
        Self {
            client: aws_sdk_costexplorer::Client::from_conf(config),
        }
    }
}

#[async_trait]
impl CostSource for CostExplorer {
    async fn daily_costs(&self, day: Date) -> Result<Vec<(String, Usd)>, CostError> {
        let next = day
            .next_day()
            .ok_or_else(|| CostError(format!("no day after {day}")))?;
        let period = DateInterval::builder()
            .start(day_text(day))
            .end(day_text(next))
            .build()
            .map_err(|e| CostError(e.to_string()))?;
        let group = GroupDefinition::builder()
            .r#type(GroupDefinitionType::Tag)
            .key(CLUSTER_TAG)
            .build();
        let mut costs = Vec::new();
        let mut token = None;
        loop {
            let answer = self
                .client
                .get_cost_and_usage()
                .time_period(period.clone())
                .granularity(Granularity::Daily)
                .metrics("UnblendedCost")
                .group_by(group.clone())
                .set_next_page_token(token)
                .send()
                .await
                .map_err(|e| {
                    CostError(aws_sdk_costexplorer::error::DisplayErrorContext(e).to_string())
                })?;
            for result in answer.results_by_time() {
                for group in result.groups() {
                    // Tag groups are keyed `sliderule:cluster$bob`; an untagged cost has an
                    // empty value and belongs to no cluster.
                    let Some(cluster) = group
                        .keys()
                        .first()
                        .and_then(|key| key.split_once('$'))
                        .map(|(_, value)| value)
                        .filter(|value| !value.is_empty())
                    else {
                        continue;
                    };
                    let Some(amount) = group
                        .metrics()
                        .and_then(|metrics| metrics.get("UnblendedCost"))
                        .and_then(|metric| metric.amount())
                    else {
                        continue;
                    };
                    costs.push((cluster.to_owned(), parse_amount(amount)?));
                }
            }
            token = answer.next_page_token().map(str::to_owned);
            if token.is_none() {
                return Ok(costs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn amounts_are_rounded_half_up_to_the_micro_dollar() {
        assert_eq!(parse_amount("2.55").unwrap(), Usd::from_cents(255));
        assert_eq!(
            parse_amount("0.0101516483").unwrap(),
            Usd::from_micros(10_152)
        );
        assert_eq!(parse_amount("0.0000004").unwrap(), Usd::ZERO);
        assert_eq!(parse_amount("-1.5").unwrap(), Usd::from_cents(-150));
        assert_eq!(parse_amount("3").unwrap(), Usd::from_dollars(3));
        for bad in ["", "abc", "1.2.3", ".5", "1e3"] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn days_are_written_as_cost_explorer_writes_them() {
        assert_eq!(day_text(date!(2026 - 01 - 02)), "2026-01-02");
    }
}
