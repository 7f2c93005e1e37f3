//! Property tests of the validated types: whatever valid value is generated parses and survives
//! its string and JSON forms; whatever holds a forbidden character is refused.

use proptest::prelude::*;
use serde_json::{Value, json};
use sliderule_protocol::cluster_name::RESERVED_CLUSTER_NAMES;
use sliderule_protocol::{ClusterName, NodeCapacity, Scope, Scopes, Ttl, Version};

fn valid_cluster_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]([a-zA-Z0-9-]{0,38}[a-zA-Z0-9])?".prop_filter("not reserved", |s| {
        !RESERVED_CLUSTER_NAMES.contains(&s.to_ascii_lowercase().as_str())
    })
}

fn outside_cluster_name_chars() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("forbidden", |c| !(c.is_ascii_alphanumeric() || *c == '-'))
}

fn outside_version_chars() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("forbidden", |c| {
        !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    })
}

proptest! {
    #[test]
    fn every_valid_cluster_name_parses_lowercase_and_round_trips(name in valid_cluster_name()) {
        let parsed = ClusterName::parse(&name).unwrap();
        prop_assert_eq!(parsed.as_str(), name.to_ascii_lowercase());
        let shown = parsed.to_string();
        prop_assert_eq!(&shown, parsed.as_str());
        prop_assert_eq!(ClusterName::parse(&shown).unwrap(), parsed.clone());
        let json = serde_json::to_value(&parsed).unwrap();
        prop_assert_eq!(serde_json::from_value::<ClusterName>(json).unwrap(), parsed);
    }

    #[test]
    fn every_cluster_name_with_a_forbidden_character_is_refused(
        prefix in "[a-z0-9]{0,10}",
        bad in outside_cluster_name_chars(),
        suffix in "[a-z0-9]{0,10}",
    ) {
        let name = format!("{prefix}{bad}{suffix}");
        let err = ClusterName::parse(&name).unwrap_err();
        let message = err.to_string();
        prop_assert!(message.starts_with("cluster name "), "{}", message);
        prop_assert!(
            serde_json::from_value::<ClusterName>(Value::String(name)).is_err()
        );
    }

    #[test]
    fn every_cluster_name_longer_than_forty_is_refused(name in "[a-z0-9]{41,80}") {
        prop_assert!(ClusterName::parse(&name).is_err());
    }

    #[test]
    fn every_valid_version_parses_unchanged_and_round_trips(text in "[A-Za-z0-9._-]{1,64}") {
        let parsed = Version::parse(&text).unwrap();
        prop_assert_eq!(parsed.as_str(), text.as_str());
        let json = serde_json::to_value(&parsed).unwrap();
        prop_assert_eq!(serde_json::from_value::<Version>(json).unwrap(), parsed);
    }

    #[test]
    fn every_version_with_a_forbidden_character_is_refused(
        prefix in "[A-Za-z0-9._-]{0,20}",
        bad in outside_version_chars(),
        suffix in "[A-Za-z0-9._-]{0,20}",
    ) {
        let text = format!("{prefix}{bad}{suffix}");
        prop_assert!(Version::parse(&text).is_err());
    }

    #[test]
    fn a_ttl_as_a_number_and_as_a_string_parses_to_the_same_minutes(minutes in any::<u32>()) {
        let from_number: Ttl = serde_json::from_value(json!(minutes)).unwrap();
        let from_string: Ttl = serde_json::from_value(json!(minutes.to_string())).unwrap();
        prop_assert_eq!(from_number, from_string);
        prop_assert_eq!(from_number.minutes(), minutes);
        prop_assert_eq!(Ttl::parse(&from_number.to_string()).unwrap(), from_number);
        prop_assert_eq!(serde_json::to_value(from_number).unwrap(), json!(minutes));
    }

    #[test]
    fn a_node_capacity_as_a_number_and_as_a_string_parses_to_the_same_count(n in any::<u32>()) {
        let from_number: NodeCapacity = serde_json::from_value(json!(n)).unwrap();
        let from_string: NodeCapacity = serde_json::from_value(json!(n.to_string())).unwrap();
        prop_assert_eq!(from_number, from_string);
        prop_assert_eq!(from_number.get(), n);
        prop_assert_eq!(serde_json::to_value(from_number).unwrap(), json!(n));
    }

    #[test]
    fn every_negative_number_is_refused_in_both_forms(n in i64::MIN..0) {
        prop_assert!(serde_json::from_value::<Ttl>(json!(n)).is_err());
        prop_assert!(serde_json::from_value::<Ttl>(json!(n.to_string())).is_err());
        prop_assert!(serde_json::from_value::<NodeCapacity>(json!(n)).is_err());
    }

    #[test]
    fn numbers_beyond_u32_are_refused_in_both_forms(n in (u64::from(u32::MAX) + 1)..u64::MAX) {
        prop_assert!(serde_json::from_value::<Ttl>(json!(n)).is_err());
        prop_assert!(serde_json::from_value::<Ttl>(json!(n.to_string())).is_err());
    }

    #[test]
    fn no_string_makes_number_parsing_panic(text in any::<String>()) {
        let _ = Ttl::parse(&text);
        let _ = NodeCapacity::parse(&text);
        let _ = ClusterName::parse(&text);
        let _ = Version::parse(&text);
        let _ = Scopes::parse(&text);
    }

    #[test]
    fn any_scope_set_round_trips_in_canonical_order(
        bits in proptest::collection::vec(any::<bool>(), 5),
    ) {
        let scopes: Scopes = Scope::ALL
            .into_iter()
            .zip(&bits)
            .filter(|(_, on)| **on)
            .map(|(s, _)| s)
            .collect();
        // Written backwards, read forwards: order in the input must not matter.
        let mut reversed: Vec<&str> = scopes.iter().map(Scope::as_str).collect();
        reversed.reverse();
        let parsed = Scopes::parse(&reversed.join(" ")).unwrap();
        prop_assert_eq!(parsed, scopes);
        let json = serde_json::to_value(parsed).unwrap();
        prop_assert_eq!(serde_json::from_value::<Scopes>(json.clone()).unwrap(), scopes);
        let canonical: Vec<&str> = scopes.iter().map(Scope::as_str).collect();
        prop_assert_eq!(json, json!(canonical.join(" ")));
    }
}
