//! Money, exactly: US dollars as integer micro-dollars, never binary floating point in the
//! arithmetic. The wire shows amounts as JSON numbers rounded to cents (`2.55`) and accepts a
//! number or a numeric string with at most six decimals (`"2.55"`, `2.555`); the arithmetic a
//! budget needs (an hourly price over seconds, the longest time a balance affords) lives here so
//! the server that charges and the web client that projects a cost agree to the micro-dollar.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Micro-dollars in a dollar.
pub const MICROS_PER_USD: i64 = 1_000_000;

/// The largest amount accepted from the wire: far beyond any budget, and small enough that a
/// JSON number (an `f64` on the way in) still names one micro-dollar exactly.
pub const MAX_WIRE_USD: i64 = 1_000_000_000;

const SECONDS_PER_HOUR: i128 = 3600;

/// An amount of US dollars, exact to the micro-dollar; negative for debts and debits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usd(i64);

impl Usd {
    /// Nothing.
    pub const ZERO: Usd = Usd(0);

    /// `micros` micro-dollars.
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// `cents` cents.
    pub const fn from_cents(cents: i64) -> Self {
        Self(cents * (MICROS_PER_USD / 100))
    }

    /// `dollars` whole dollars.
    pub const fn from_dollars(dollars: i64) -> Self {
        Self(dollars * MICROS_PER_USD)
    }

    /// The amount in micro-dollars.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// Whole cents, rounded half away from zero (what the wire and people see).
    pub fn cents(self) -> i64 {
        let unit = MICROS_PER_USD / 100;
        let half = unit / 2;
        if self.0 >= 0 {
            (self.0 + half) / unit
        } else {
            (self.0 - half) / unit
        }
    }

    /// The sum, unless it overflows.
    pub fn checked_add(self, other: Usd) -> Option<Usd> {
        self.0.checked_add(other.0).map(Usd)
    }

    /// The difference, unless it overflows.
    pub fn checked_sub(self, other: Usd) -> Option<Usd> {
        self.0.checked_sub(other.0).map(Usd)
    }

    /// More than nothing.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Parses `12`, `-3.5`, `0.000001`: a decimal with at most six decimals, exactly.
    pub fn parse(text: &str) -> Result<Usd, InvalidAmount> {
        let invalid = || InvalidAmount(text.to_owned());
        let trimmed = text.trim();
        let (negative, digits) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || fraction.len() > 6
            || whole.len() > 12
        {
            return Err(invalid());
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut fraction_micros: i64 = 0;
        for (place, digit) in fraction.bytes().enumerate() {
            fraction_micros += i64::from(digit - b'0') * 10_i64.pow(5 - place as u32);
        }
        let micros = whole
            .checked_mul(MICROS_PER_USD)
            .and_then(|m| m.checked_add(fraction_micros))
            .ok_or_else(invalid)?;
        if micros > MAX_WIRE_USD * MICROS_PER_USD {
            return Err(invalid());
        }
        Ok(Usd(if negative { -micros } else { micros }))
    }

    /// A JSON number as serde reads it (an `f64`): exact for every amount with at most six
    /// decimals up to [`MAX_WIRE_USD`], because the nearest micro-dollar is unambiguous there.
    fn from_json_number(value: f64) -> Option<Usd> {
        let bound = (MAX_WIRE_USD as f64) + 1.0;
        if !value.is_finite() || value.abs() > bound {
            return None;
        }
        let micros = (value * MICROS_PER_USD as f64).round();
        // Not more than six decimals: the value must be that many micro-dollars.
        let back = micros / MICROS_PER_USD as f64;
        ((back - value).abs() <= f64::EPSILON * value.abs().max(1.0)).then_some(Usd(micros as i64))
    }
}

impl fmt::Display for Usd {
    /// `2.55`, `-0.10`: rounded to cents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cents = self.cents();
        let sign = if cents < 0 { "-" } else { "" };
        let cents = cents.unsigned_abs();
        write!(f, "{sign}{}.{:02}", cents / 100, cents % 100)
    }
}

impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The shortest decimal naming this binary value is the two-decimal one: `2.55`.
        serializer.serialize_f64(self.cents() as f64 / 100.0)
    }
}

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Amount;

        impl Visitor<'_> for Amount {
            type Value = Usd;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount of US dollars (a number, or a string like \"12.50\")")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Usd, E> {
                if value.abs() > MAX_WIRE_USD {
                    return Err(E::custom(InvalidAmount(value.to_string())));
                }
                Ok(Usd::from_dollars(value))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Usd, E> {
                let value = i64::try_from(value)
                    .map_err(|_| E::custom(InvalidAmount(value.to_string())))?;
                self.visit_i64(value)
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Usd, E> {
                Usd::from_json_number(value)
                    .ok_or_else(|| E::custom(InvalidAmount(value.to_string())))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Usd, E> {
                Usd::parse(value).map_err(E::custom)
            }
        }

        deserializer.deserialize_any(Amount)
    }
}

/// An amount that is not a number of dollars with at most six decimals, or is out of range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an amount of US dollars: use a number with at most six decimals, at most 1,000,000,000"
)]
pub struct InvalidAmount(pub String);

/// What running clusters costs: every deployed cluster pays for its load balancer and monitor,
/// and each node for itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pricing {
    /// What each node costs per hour.
    pub node_usd_per_hour: Usd,
    /// What every deployed cluster pays per hour besides its nodes.
    pub cluster_usd_per_hour: Usd,
}

impl Pricing {
    /// The demo's prices: nodes 0.50 USD/h, the cluster 0.20 USD/h.
    pub const DEMO: Pricing = Pricing {
        node_usd_per_hour: Usd::from_cents(50),
        cluster_usd_per_hour: Usd::from_cents(20),
    };

    /// What a cluster of `nodes` costs per hour.
    pub fn hourly(&self, nodes: u32) -> Usd {
        Usd(self.cluster_usd_per_hour.0 + i64::from(nodes) * self.node_usd_per_hour.0)
    }

    /// What a cluster of `nodes` costs for `seconds`, to the micro-dollar (half rounds up).
    pub fn cost(&self, nodes: u32, seconds: u64) -> Usd {
        let micros = i128::from(self.hourly(nodes).0) * i128::from(seconds);
        let rounded = (micros + SECONDS_PER_HOUR / 2) / SECONDS_PER_HOUR;
        Usd(i64::try_from(rounded).unwrap_or(i64::MAX))
    }

    /// The whole minutes a `balance` pays for a cluster of `nodes` (0 when it pays for none).
    pub fn affordable_minutes(&self, balance: Usd, nodes: u32) -> u64 {
        let hourly = i128::from(self.hourly(nodes).0);
        if balance.0 <= 0 || hourly <= 0 {
            return if hourly <= 0 { u64::MAX } else { 0 };
        }
        let minutes = i128::from(balance.0) * 60 / hourly;
        u64::try_from(minutes).unwrap_or(u64::MAX)
    }

    /// A deploy (or extend, or capacity request) of `nodes` for `minutes` against `balance`:
    /// its cost, or why it cannot be paid.
    pub fn check_affordable(
        &self,
        account: &str,
        balance: Usd,
        nodes: u32,
        minutes: u64,
    ) -> Result<Usd, InsufficientFunds> {
        let cost = self.cost(nodes, minutes.saturating_mul(60));
        if cost <= balance {
            return Ok(cost);
        }
        Err(InsufficientFunds {
            account: account.to_owned(),
            nodes,
            minutes,
            cost,
            balance,
            affordable_minutes: self.affordable_minutes(balance, nodes),
        })
    }
}

/// A request the balance cannot pay for; its message is the 422's description.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{nodes} {noun} for {minutes} minutes cost {cost} USD but the balance of {account} is {balance} USD; it affords at most {affordable_minutes} minutes",
    noun = if *nodes == 1 { "node" } else { "nodes" }
)]
pub struct InsufficientFunds {
    /// Whose balance.
    pub account: String,
    /// The nodes asked for.
    pub nodes: u32,
    /// The time asked for.
    pub minutes: u64,
    /// What that costs.
    pub cost: Usd,
    /// What there is.
    pub balance: Usd,
    /// The longest whole number of minutes the balance pays for.
    pub affordable_minutes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_nodes_for_ninety_minutes_at_the_demo_prices_cost_exactly_two_fifty_five() {
        assert_eq!(Pricing::DEMO.cost(3, 90 * 60), Usd::from_cents(255));
        assert_eq!(Pricing::DEMO.cost(3, 90 * 60).micros(), 2_550_000);
        assert_eq!(Pricing::DEMO.hourly(3), Usd::from_cents(170));
    }

    #[test]
    fn costs_accrue_to_the_second_and_round_half_up_to_the_micro_dollar() {
        // 1.70 USD/h is 472.2… micro-dollars a second.
        assert_eq!(Pricing::DEMO.cost(3, 1).micros(), 472);
        assert_eq!(Pricing::DEMO.cost(3, 2).micros(), 944);
        // A capacity change splits an interval: the parts add up to the whole.
        let whole = Pricing::DEMO.cost(3, 5400);
        let parts = Pricing::DEMO
            .cost(3, 1800)
            .checked_add(Pricing::DEMO.cost(3, 3600));
        assert_eq!(parts, Some(whole));
        assert_eq!(Pricing::DEMO.cost(0, 0), Usd::ZERO);
    }

    #[test]
    fn a_refusal_says_the_cost_the_balance_and_the_longest_affordable_time() {
        let refused = Pricing::DEMO
            .check_affordable("bob", Usd::from_dollars(1), 3, 60)
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "3 nodes for 60 minutes cost 1.70 USD but the balance of bob is 1.00 USD; it affords at most 35 minutes"
        );
        assert_eq!(
            Pricing::DEMO.check_affordable("bob", Usd::from_cents(170), 3, 60),
            Ok(Usd::from_cents(170)),
            "exactly enough is enough"
        );
        let one = Pricing::DEMO
            .check_affordable("bob", Usd::ZERO, 1, 15)
            .unwrap_err();
        assert!(
            one.to_string()
                .starts_with("1 node for 15 minutes cost 0.18 USD"),
            "{one}"
        );
        assert_eq!(one.affordable_minutes, 0);
    }

    #[test]
    fn amounts_parse_exactly_from_strings_and_numbers_and_refuse_the_rest() {
        assert_eq!(Usd::parse("2.55"), Ok(Usd::from_micros(2_550_000)));
        assert_eq!(Usd::parse("-0.000001"), Ok(Usd::from_micros(-1)));
        assert_eq!(Usd::parse(".5"), Ok(Usd::from_cents(50)));
        assert_eq!(Usd::parse("12"), Ok(Usd::from_dollars(12)));
        for bad in [
            "",
            ".",
            "abc",
            "1.2345678",
            "1e3",
            "--1",
            "1.2.3",
            "NaN",
            "9999999999999",
        ] {
            assert!(Usd::parse(bad).is_err(), "{bad:?}");
        }
        let from = |json: &str| serde_json::from_str::<Usd>(json);
        assert_eq!(from("2.55").unwrap(), Usd::from_micros(2_550_000));
        assert_eq!(from("0.1").unwrap(), Usd::from_micros(100_000));
        assert_eq!(from("\"-3.50\"").unwrap(), Usd::from_micros(-3_500_000));
        assert_eq!(from("1000000").unwrap(), Usd::from_dollars(1_000_000));
        assert!(from("0.0000001").is_err(), "seven decimals");
        assert!(from("1e300").is_err());
        assert!(from("true").is_err());
        assert!(from("\"lots\"").is_err());
    }

    #[test]
    fn the_wire_rounds_to_cents() {
        assert_eq!(
            serde_json::to_string(&Usd::from_micros(2_554_999)).unwrap(),
            "2.55"
        );
        assert_eq!(
            serde_json::to_string(&Usd::from_micros(2_555_000)).unwrap(),
            "2.56"
        );
        assert_eq!(
            serde_json::to_string(&Usd::from_micros(-1_005_000)).unwrap(),
            "-1.01"
        );
        assert_eq!(
            serde_json::to_string(&Usd::from_dollars(100)).unwrap(),
            "100.0"
        );
        assert_eq!(Usd::from_micros(-1_005_000).to_string(), "-1.01");
        assert_eq!(Usd::from_dollars(100).to_string(), "100.00");
    }
}
