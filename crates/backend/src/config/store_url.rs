//! `store.url`: which store, and where.

use std::path::PathBuf;

/// Where the store is, as `store.url` says (or `state.db` in the data directory when unset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `sqlite:///path/to/state.db`.
    Sqlite(PathBuf),
    /// `dynamodb://TABLE`: the table, in the region and endpoint of `[aws]`.
    DynamoDb { table: String },
}

impl StoreUrl {
    /// Parses `store.url`; the error names the value and the accepted forms.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if let Some(table) = url.strip_prefix("dynamodb://") {
            // DynamoDB's own rule for table names.
            let valid = (3..=255).contains(&table.len())
                && table
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if valid {
                return Ok(StoreUrl::DynamoDb {
                    table: table.to_owned(),
                });
            }
            return Err(format!(
                "invalid DynamoDB table name in {url:?}: 3 to 255 letters, digits, '_', '-' \
                 or '.'"
            ));
        }
        Err(format!(
            "unsupported store {url:?}: use sqlite:///path/to/state.db or dynamodb://TABLE_NAME"
        ))
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "{}", path.display()),
            StoreUrl::DynamoDb { table } => write!(f, "dynamodb://{table}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_url_is_a_path_and_a_dynamodb_url_a_table() {
        assert_eq!(
            StoreUrl::parse("sqlite:///var/lib/sr/state.db"),
            Ok(StoreUrl::Sqlite("/var/lib/sr/state.db".into()))
        );
        assert_eq!(
            StoreUrl::parse("dynamodb://sliderule-prod.state_1"),
            Ok(StoreUrl::DynamoDb {
                table: "sliderule-prod.state_1".into()
            })
        );
    }

    #[test]
    fn anything_else_is_refused_naming_the_value_and_the_accepted_forms() {
        let error = StoreUrl::parse("postgres://db/state").unwrap_err();
        assert!(error.contains("\"postgres://db/state\""), "{error}");
        assert!(error.contains("sqlite:///path/to/state.db"), "{error}");
        assert!(error.contains("dynamodb://TABLE_NAME"), "{error}");
        for bad in ["dynamodb://", "dynamodb://ab", "dynamodb://a/b"] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
