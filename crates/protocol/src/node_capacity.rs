//! How many nodes a cluster should run.
//!
//! As with [`crate::Ttl`], the type only says "a whole number"; `1 ≤ n ≤ max_nodes` is a limit
//! check in [`crate::limits`] (422), not a parse error (400).

use crate::flexible::{self, InvalidNumber, whole_number_newtype};

/// The requested number of nodes. Arrives as a JSON number or a numeric string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeCapacity(u32);

impl NodeCapacity {
    /// A capacity of `nodes` nodes.
    pub const fn new(nodes: u32) -> Self {
        Self(nodes)
    }

    /// Parses the string form, e.g. `"60"`.
    pub fn parse(text: &str) -> Result<Self, InvalidNumber> {
        flexible::parse_whole_number("node_capacity", text).map(Self)
    }

    /// The number of nodes.
    pub const fn get(self) -> u32 {
        self.0
    }
}

whole_number_newtype!(NodeCapacity, "node_capacity");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_capacity_parses_numbers_and_numeric_strings_alike() {
        let a: NodeCapacity = serde_json::from_str("60").unwrap();
        let b: NodeCapacity = serde_json::from_str(r#""60""#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.get(), 60);
        assert_eq!("60".parse::<NodeCapacity>().unwrap(), a);
    }

    #[test]
    fn node_capacity_refuses_bad_values_naming_the_field() {
        let err = serde_json::from_value::<NodeCapacity>(serde_json::json!("many"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("node_capacity \"many\" is not valid"),
            "{err}"
        );
        let err = serde_json::from_value::<NodeCapacity>(serde_json::json!(-2))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "node_capacity -2 is not valid: it cannot be negative");
    }

    #[test]
    fn node_capacity_serializes_as_a_number() {
        assert_eq!(serde_json::to_string(&NodeCapacity::new(7)).unwrap(), "7");
        assert_eq!(NodeCapacity::new(7).to_string(), "7");
    }
}
