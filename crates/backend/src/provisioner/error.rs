//! What can go wrong in the provisioner's rules, as the rules see it. Only `http/error.rs` turns
//! these into responses, so the rules can be called from a server, a Lambda or a one-shot
//! command alike.

use sliderule_protocol::{ClusterName, LimitError, codes};

use crate::budgets::BudgetError;
use crate::cloud::CloudError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionerError {
    /// The caller may not do this (another's cluster, an owner-only action).
    #[error("{0}")]
    Forbidden(String),
    /// A node count or TTL outside the caller's limits; names limit, value and maximum.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// A request that cannot be met as asked (bounds out of order, say); says why.
    #[error("{0}")]
    Invalid(String),
    /// No such cluster (or none running, for what needs one).
    #[error("{0}")]
    DoesNotExist(String),
    /// The cluster's state does not allow this now; `code` says why (one of `codes`' 409s).
    #[error("{description}")]
    Conflict {
        code: &'static str,
        description: String,
    },
    /// The cloud refused or failed. Its own message may name stack ARNs and account ids: it
    /// is logged, and only a sentence reaches the caller.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// Refused by the budget (insufficient funds), or a budget request that cannot be met.
    #[error(transparent)]
    Budget(#[from] BudgetError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug: a stored value that no longer parses, say.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ProvisionerError {
    /// 409 `operation_in_progress`.
    pub fn in_progress(description: impl Into<String>) -> Self {
        Self::Conflict {
            code: codes::OPERATION_IN_PROGRESS,
            description: description.into(),
        }
    }

    /// 404 `does_not_exist` for `/status` and friends.
    pub fn does_not_exist(cluster: &ClusterName) -> Self {
        Self::DoesNotExist(format!("cluster {cluster} does not exist"))
    }
}
