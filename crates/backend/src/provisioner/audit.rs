//! The audit log: every state change (who, what, when, parameters, outcome) is appended to the
//! store; owners read it newest first, a page at a time, at `/audit`.

use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::{AuditEntryView, AuditPage, AuditRequest};
use time::OffsetDateTime;

use super::Provisioner;
use super::error::ProvisionerError;
use crate::store::AuditEntry;

/// Entries per page unless asked otherwise, and the most a page may hold.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

/// RFC 3339, for parameters and the wire.
pub fn time(at: OffsetDateTime) -> String {
    sliderule_protocol::timestamp::format(at).unwrap_or_else(|_| at.unix_timestamp().to_string())
}

impl Provisioner {
    /// Appends to the audit log. A failure to write it is logged, not returned: the change it
    /// describes has happened either way.
    pub(super) async fn audit(
        &self,
        actor: &str,
        action: &str,
        cluster: &ClusterName,
        parameters: serde_json::Value,
        outcome: Result<(), &str>,
    ) {
        let entry = AuditEntry {
            id: 0,
            at: self.clock.now(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            cluster: cluster.as_str().to_owned(),
            parameters: parameters.to_string(),
            outcome: match outcome {
                Ok(()) => "ok".to_owned(),
                Err(problem) => problem.to_owned(),
            },
        };
        tracing::info!(
            actor,
            action,
            %cluster,
            parameters = %entry.parameters,
            outcome = %entry.outcome,
            "audit"
        );
        if let Err(error) = self.store.append_audit(&entry).await {
            tracing::error!(%error, actor, action, %cluster, "could not write the audit log");
        }
        if let Some(notifier) = &self.notifier {
            notifier.on_audit(&entry).await;
        }
    }

    pub async fn audit_page(&self, request: &AuditRequest) -> Result<AuditPage, ProvisionerError> {
        let limit = request.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let entries = self.store.audit_page(request.before, limit).await?;
        let next = (entries.len() == limit as usize)
            .then(|| entries.last().map(|e| e.id))
            .flatten();
        Ok(AuditPage {
            entries: entries.into_iter().map(AuditEntryView::from).collect(),
            next,
        })
    }
}

impl From<AuditEntry> for AuditEntryView {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id,
            at: time(entry.at),
            actor: entry.actor,
            action: entry.action,
            cluster: entry.cluster,
            parameters: serde_json::from_str(&entry.parameters)
                .unwrap_or(serde_json::Value::String(entry.parameters)),
            outcome: entry.outcome,
        }
    }
}
