//! What an audited change is worth telling, as a subject and a text (before its addresses are
//! known): a deploy or wake, a destroy at the deadline or for an exhausted budget, the 10 % budget
//! warning, a membership decision. Everything else is worth nothing.

use crate::store::AuditEntry;

/// A message before its addresses are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub subject: String,
    pub body: String,
    /// Whom it concerns, besides the alert address.
    pub person: Option<String>,
}

pub fn draft(entry: &AuditEntry) -> Option<Draft> {
    if entry.outcome != "ok" {
        return None;
    }
    let p: serde_json::Value = serde_json::from_str(&entry.parameters).unwrap_or_default();
    let cluster = &entry.cluster;
    let actor = &entry.actor;
    let (subject, body, person) = match (entry.action.as_str(), actor.as_str()) {
        ("deploy", _) => (
            format!("SlideRule cluster deployed ({cluster}/{actor})"),
            format!(
                "{actor} deployed {cluster} with {} nodes, version {}, until {}.",
                p["node_capacity"],
                p["version"].as_str().unwrap_or("latest"),
                p["deadline"].as_str().unwrap_or("its deadline")
            ),
            Some(actor.clone()),
        ),
        ("deploy_nodes", _) => {
            let user = p["user"].as_str().unwrap_or(actor).to_owned();
            (
                format!("SlideRule node group deployed ({cluster}/{user})"),
                format!(
                    "{user} deployed a node group of {} nodes on {cluster}, until {}.",
                    p["node_capacity"],
                    p["deadline"].as_str().unwrap_or("its deadline")
                ),
                Some(user),
            )
        }
        ("destroy_nodes", "reaper" | "budget") => {
            let user = p["user"].as_str().unwrap_or_default().to_owned();
            let why = if actor == "budget" {
                "the budget that pays for it is exhausted"
            } else {
                "it reached its time to live"
            };
            (
                format!("SlideRule node group destroyed ({cluster}/{user})"),
                format!("{user}'s node group on {cluster} is being destroyed: {why}."),
                Some(user),
            )
        }
        ("wake", _) => (
            format!("SlideRule cluster woke ({cluster})"),
            format!("{cluster} woke at {} nodes for {actor}.", p["nodes"]),
            Some(actor.clone()),
        ),
        ("reap", _) => (
            format!("SlideRule cluster destroyed at its deadline ({cluster})"),
            format!("{cluster} reached its time to live and is being destroyed."),
            None,
        ),
        ("destroy", "budget") => (
            format!("SlideRule cluster destroyed: budget exhausted ({cluster})"),
            format!("{cluster} is being destroyed: the budget that pays for it is exhausted."),
            None,
        ),
        ("budget_warning", _) => (
            format!("SlideRule budget low ({cluster})"),
            format!("The budget of {cluster} has at most 10 % of its monthly allowance left."),
            None,
        ),
        ("membership_decision", _) => {
            let user = p["user"].as_str().unwrap_or_default().to_owned();
            let state = p["state"].as_str().unwrap_or_default();
            (
                format!("SlideRule membership of {cluster}: {state}"),
                format!("{actor} set the membership of {user} in {cluster} to {state}."),
                Some(user),
            )
        }
        _ => return None,
    };
    Some(Draft {
        subject,
        body,
        person,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn entry(
        action: &str,
        actor: &str,
        parameters: serde_json::Value,
        outcome: &str,
    ) -> AuditEntry {
        AuditEntry {
            id: 1,
            at: OffsetDateTime::UNIX_EPOCH,
            actor: actor.into(),
            action: action.into(),
            cluster: "icesat2".into(),
            parameters: parameters.to_string(),
            outcome: outcome.into(),
        }
    }

    #[test]
    fn deploys_destroys_warnings_and_decisions_are_worth_a_message_and_nothing_else() {
        let deploy = draft(&entry(
            "deploy",
            "bob",
            serde_json::json!({ "node_capacity": 2, "version": "latest", "deadline": "2026-12-04T10:00:00Z" }),
            "ok",
        ))
        .unwrap();
        assert_eq!(deploy.subject, "SlideRule cluster deployed (icesat2/bob)");
        assert_eq!(
            deploy.body,
            "bob deployed icesat2 with 2 nodes, version latest, until 2026-12-04T10:00:00Z."
        );
        assert_eq!(deploy.person.as_deref(), Some("bob"));
        let decision = draft(&entry(
            "membership_decision",
            "alice",
            serde_json::json!({ "user": "frank", "state": "active" }),
            "ok",
        ))
        .unwrap();
        assert_eq!(decision.person.as_deref(), Some("frank"));
        assert!(draft(&entry("destroy", "budget", serde_json::json!({}), "ok")).is_some());
        assert!(draft(&entry("destroy", "bob", serde_json::json!({}), "ok")).is_none());
        assert!(draft(&entry("deploy", "bob", serde_json::json!({}), "AWS failed")).is_none());
        assert!(draft(&entry("extend", "bob", serde_json::json!({}), "ok")).is_none());
        let reaped = draft(&entry(
            "destroy_nodes",
            "reaper",
            serde_json::json!({ "user": "bob" }),
            "ok",
        ))
        .unwrap();
        assert_eq!(
            reaped.subject,
            "SlideRule node group destroyed (icesat2/bob)"
        );
        assert_eq!(reaped.person.as_deref(), Some("bob"));
        let by_hand = entry(
            "destroy_nodes",
            "bob",
            serde_json::json!({ "user": "bob" }),
            "ok",
        );
        assert!(draft(&by_hand).is_none(), "one's own removal is not news");
    }
}
