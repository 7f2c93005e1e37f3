//! Per-level limits on node count and TTL, and the checks that enforce them.
//!
//! The server answers a broken limit with 422 `limit_exceeded`; the web client runs the same checks
//! before sending, so both show the very same sentence.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::codes;
use crate::{Level, NodeCapacity, Ttl};

/// The shortest TTL, in minutes. Upstream's reason still holds: scheduling a deletion less than
/// a quarter of an hour ahead races the stack's own creation.
pub const MIN_TTL: u32 = 15;

/// The fewest nodes a cluster may ask for.
pub const MIN_NODES: u32 = 1;

/// How large and how long-lived someone's clusters may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    /// Most nodes in one cluster.
    pub max_nodes: u32,
    /// Longest TTL, in minutes.
    pub max_ttl: u32,
}

impl Limits {
    /// Default member limits (upstream v5's): 10 nodes, 12 hours.
    pub const MEMBER: Limits = Limits {
        max_nodes: 10,
        max_ttl: 720,
    };

    /// Default owner limits (upstream v5's): 500 nodes, one year.
    pub const OWNER: Limits = Limits {
        max_nodes: 500,
        max_ttl: 525_600,
    };

    /// No provisioning at all (anonymous and GitHub users).
    pub const NONE: Limits = Limits {
        max_nodes: 0,
        max_ttl: 0,
    };

    /// The default limits of a level. Deployments can configure others; affiliates take theirs
    /// from their entry and fall back to these member values.
    pub const fn default_for(level: Level) -> Limits {
        match level {
            Level::Owner => Limits::OWNER,
            Level::Member | Level::Affiliate => Limits::MEMBER,
            Level::Anonymous | Level::GithubUser => Limits::NONE,
        }
    }

    /// Checks `1 ≤ nodes ≤ max_nodes`.
    pub fn check_capacity(&self, nodes: NodeCapacity) -> Result<(), LimitError> {
        check(Limit::NodeCapacity, nodes.get(), MIN_NODES, self.max_nodes)
    }

    /// Checks `15 ≤ ttl ≤ max_ttl`.
    pub fn check_ttl(&self, ttl: Ttl) -> Result<(), LimitError> {
        check(Limit::Ttl, ttl.minutes(), MIN_TTL, self.max_ttl)
    }

    /// A node count as a person typed it, parsed and checked against these limits; the error
    /// is the sentence to show next to the field.
    pub fn capacity_from_text(&self, text: &str) -> Result<NodeCapacity, String> {
        let nodes = NodeCapacity::parse(text.trim()).map_err(|e| e.to_string())?;
        self.check_capacity(nodes).map_err(|e| e.to_string())?;
        Ok(nodes)
    }

    /// A time-to-live in minutes as a person typed it, parsed and checked against these limits.
    pub fn ttl_from_text(&self, text: &str) -> Result<Ttl, String> {
        let ttl = Ttl::parse(text.trim()).map_err(|e| e.to_string())?;
        self.check_ttl(ttl).map_err(|e| e.to_string())?;
        Ok(ttl)
    }
}

// The maximum is checked first: with no provisioning rights (limits of zero) "exceeds your
// maximum of 0 nodes" tells the truth, where "below the minimum" would mislead.
fn check(limit: Limit, value: u32, minimum: u32, maximum: u32) -> Result<(), LimitError> {
    if value > maximum {
        Err(LimitError::AboveMaximum {
            limit,
            value,
            maximum,
        })
    } else if value < minimum {
        Err(LimitError::BelowMinimum {
            limit,
            value,
            minimum,
        })
    } else {
        Ok(())
    }
}

/// Which limit a request broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// `node_capacity`, in nodes.
    NodeCapacity,
    /// `ttl`, in minutes.
    Ttl,
}

impl Limit {
    /// The request field the limit applies to.
    pub const fn name(self) -> &'static str {
        match self {
            Limit::NodeCapacity => "node_capacity",
            Limit::Ttl => "ttl",
        }
    }

    fn unit(self, n: u32) -> &'static str {
        match (self, n) {
            (Limit::NodeCapacity, 1) => "node",
            (Limit::NodeCapacity, _) => "nodes",
            (Limit::Ttl, 1) => "minute",
            (Limit::Ttl, _) => "minutes",
        }
    }
}

/// A value outside the caller's limits. Its `Display` is the 422's `error_description`, e.g.
/// `node_capacity of 60 exceeds your maximum of 10 nodes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum LimitError {
    /// More than the maximum.
    #[error(
        "{} of {} exceeds your maximum of {}",
        limit.name(),
        asked(*limit, *value),
        amount(*limit, *maximum)
    )]
    AboveMaximum {
        /// The limit broken.
        limit: Limit,
        /// The value asked for.
        value: u32,
        /// The largest value allowed.
        maximum: u32,
    },
    /// Less than the minimum.
    #[error(
        "{} of {} is below the minimum of {}",
        limit.name(),
        asked(*limit, *value),
        amount(*limit, *minimum)
    )]
    BelowMinimum {
        /// The limit broken.
        limit: Limit,
        /// The value asked for.
        value: u32,
        /// The smallest value allowed.
        minimum: u32,
    },
}

fn amount(limit: Limit, n: u32) -> String {
    format!("{n} {}", limit.unit(n))
}

// "node_capacity of 60 nodes" says "nodes" twice, "ttl of 10" does not say what 10 counts, so a
// node count asked for stays bare and a TTL gets its unit.
fn asked(limit: Limit, n: u32) -> String {
    match limit {
        Limit::NodeCapacity => n.to_string(),
        Limit::Ttl => amount(limit, n),
    }
}

impl LimitError {
    /// The limit broken.
    pub const fn limit(&self) -> Limit {
        match self {
            LimitError::AboveMaximum { limit, .. } | LimitError::BelowMinimum { limit, .. } => {
                *limit
            }
        }
    }

    /// The value asked for.
    pub const fn value(&self) -> u32 {
        match self {
            LimitError::AboveMaximum { value, .. } | LimitError::BelowMinimum { value, .. } => {
                *value
            }
        }
    }

    /// The maximum or minimum the value broke.
    pub const fn bound(&self) -> u32 {
        match self {
            LimitError::AboveMaximum { maximum: bound, .. }
            | LimitError::BelowMinimum { minimum: bound, .. } => *bound,
        }
    }

    /// The error code of the response: `limit_exceeded`.
    pub const fn code(&self) -> &'static str {
        codes::LIMIT_EXCEEDED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_are_parsed_then_checked_with_the_sentence_of_each() {
        let limits = Limits::MEMBER;
        assert_eq!(limits.capacity_from_text(" 3 "), Ok(NodeCapacity::new(3)));
        assert_eq!(limits.ttl_from_text("60"), Ok(Ttl::from_minutes(60)));
        assert_eq!(
            limits.capacity_from_text("many"),
            Err(NodeCapacity::parse("many").unwrap_err().to_string())
        );
        assert_eq!(
            limits.capacity_from_text("0"),
            Err(limits
                .check_capacity(NodeCapacity::new(0))
                .unwrap_err()
                .to_string())
        );
        assert_eq!(
            limits.ttl_from_text("5"),
            Err(limits
                .check_ttl(Ttl::from_minutes(5))
                .unwrap_err()
                .to_string())
        );
    }

    #[test]
    fn capacity_above_the_maximum_names_value_and_maximum() {
        let err = Limits::MEMBER
            .check_capacity(NodeCapacity::new(60))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "node_capacity of 60 exceeds your maximum of 10 nodes"
        );
        assert_eq!(err.limit(), Limit::NodeCapacity);
        assert_eq!(err.value(), 60);
        assert_eq!(err.bound(), 10);
        assert_eq!(err.code(), "limit_exceeded");
    }

    #[test]
    fn capacity_of_zero_is_below_the_minimum_of_one_node() {
        let err = Limits::MEMBER
            .check_capacity(NodeCapacity::new(0))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "node_capacity of 0 is below the minimum of 1 node"
        );
    }

    #[test]
    fn capacity_within_limits_passes_at_both_ends() {
        assert_eq!(Limits::MEMBER.check_capacity(NodeCapacity::new(1)), Ok(()));
        assert_eq!(Limits::MEMBER.check_capacity(NodeCapacity::new(10)), Ok(()));
        assert_eq!(Limits::OWNER.check_capacity(NodeCapacity::new(500)), Ok(()));
        assert!(
            Limits::OWNER
                .check_capacity(NodeCapacity::new(501))
                .is_err()
        );
    }

    #[test]
    fn ttl_below_fifteen_minutes_is_refused_with_the_minimum() {
        let err = Limits::MEMBER.check_ttl(Ttl::from_minutes(10)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ttl of 10 minutes is below the minimum of 15 minutes"
        );
        assert_eq!(
            Limits::MEMBER
                .check_ttl(Ttl::from_minutes(1))
                .unwrap_err()
                .to_string(),
            "ttl of 1 minute is below the minimum of 15 minutes"
        );
    }

    #[test]
    fn ttl_above_the_maximum_names_value_and_maximum() {
        let err = Limits::MEMBER
            .check_ttl(Ttl::from_minutes(800))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ttl of 800 minutes exceeds your maximum of 720 minutes"
        );
        assert_eq!(
            err,
            LimitError::AboveMaximum {
                limit: Limit::Ttl,
                value: 800,
                maximum: 720
            }
        );
    }

    #[test]
    fn ttl_within_limits_passes_at_both_ends() {
        assert_eq!(Limits::MEMBER.check_ttl(Ttl::from_minutes(15)), Ok(()));
        assert_eq!(Limits::MEMBER.check_ttl(Ttl::from_minutes(720)), Ok(()));
        assert_eq!(Limits::OWNER.check_ttl(Ttl::from_minutes(525_600)), Ok(()));
    }

    #[test]
    fn default_limits_follow_the_level() {
        assert_eq!(Limits::default_for(Level::Owner), Limits::OWNER);
        assert_eq!(Limits::default_for(Level::Member), Limits::MEMBER);
        assert_eq!(Limits::default_for(Level::Affiliate), Limits::MEMBER);
        assert_eq!(Limits::default_for(Level::GithubUser), Limits::NONE);
    }
}
