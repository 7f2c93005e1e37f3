//! The cluster template against `provisioner.parameters`, checked at start-up.
//!
//! CloudFormation refuses a stack whose template declares a parameter without a `Default` that
//! the request leaves out ("Parameters: [VpcId] must have values"), and one that names a
//! parameter the template does not declare. Either mistake in the configuration would fail every
//! deploy with a 502 while the server looked healthy, so it stops start-up instead (and
//! `config check` says the same).

use serde_yaml_ng::Value as Yaml;

use super::{Config, ConfigError};
use crate::cloud::cloudformation::read_template;

/// The parameters the CloudFormation driver sets itself on every stack (provisioner.md, "Cloud
/// drivers"); the template may require them without the configuration naming them.
const DRIVER_PARAMETERS: [&str; 6] = crate::cloud::cloudformation::CORE_PARAMETERS;

const PARAMETERS_KEY: &str = "provisioner.parameters";
const TEMPLATE_KEY: &str = "provisioner.template_file";

/// One entry of the template's `Parameters` section.
#[derive(Debug, PartialEq, Eq)]
struct Declared {
    name: String,
    has_default: bool,
}

/// Refuses a configuration whose stacks CloudFormation would refuse for their parameters.
pub(super) fn check(config: &Config) -> Result<(), ConfigError> {
    let file = config.provisioner.template_file.as_deref();
    let template = match file {
        Some(path) => format!("the cluster template {}", path.display()),
        None => "the bundled cluster template (deploy/cluster.yaml)".to_owned(),
    };
    let body = read_template(file).map_err(|e| ConfigError::new(TEMPLATE_KEY, e.to_string()))?;
    let declared = declared_parameters(&body).map_err(|problem| {
        ConfigError::new(
            TEMPLATE_KEY,
            format!("{template} is not a CloudFormation template: {problem}"),
        )
    })?;
    let given = &config.provisioner.parameters;

    let shadowing: Vec<&str> = given
        .keys()
        .map(String::as_str)
        .filter(|key| DRIVER_PARAMETERS.contains(key))
        .collect();
    if !shadowing.is_empty() {
        return Err(ConfigError::new(
            PARAMETERS_KEY,
            format!(
                "{} {} set by the provisioner itself for every cluster; remove {} from {PARAMETERS_KEY}",
                shadowing.join(", "),
                if shadowing.len() == 1 { "is" } else { "are" },
                if shadowing.len() == 1 { "it" } else { "them" },
            ),
        ));
    }
    let undeclared: Vec<&str> = given
        .keys()
        .map(String::as_str)
        .filter(|key| !declared.iter().any(|d| d.name == *key))
        .collect();
    if !undeclared.is_empty() {
        return Err(ConfigError::new(
            PARAMETERS_KEY,
            format!(
                "{template} declares no parameter {}: CloudFormation would refuse every deploy",
                undeclared.join(", "),
            ),
        ));
    }
    let missing: Vec<&str> = declared
        .iter()
        .filter(|d| {
            !d.has_default
                && !DRIVER_PARAMETERS.contains(&d.name.as_str())
                && !given.contains_key(&d.name)
        })
        .map(|d| d.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ConfigError::new(
            PARAMETERS_KEY,
            format!(
                "{template} requires {} (no default): set {} in [{PARAMETERS_KEY}], or every \
                 deploy fails",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "each" },
            ),
        ));
    }
    Ok(())
}

/// The `Parameters` of a template in JSON or YAML. CloudFormation's short-form functions
/// (`!Ref`, `!Sub`, …) are YAML tags, which the parser keeps as tagged values rather than
/// refusing, so they can appear anywhere in the template.
fn declared_parameters(body: &str) -> Result<Vec<Declared>, String> {
    if body.trim_start().starts_with('{') {
        let document: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
        let Some(parameters) = document.get("Parameters") else {
            return Ok(Vec::new());
        };
        let parameters = parameters
            .as_object()
            .ok_or("its Parameters is not a mapping")?;
        parameters
            .iter()
            .map(|(name, declaration)| {
                let declaration = declaration
                    .as_object()
                    .ok_or_else(|| format!("parameter {name} is not a mapping"))?;
                Ok(Declared {
                    name: name.clone(),
                    has_default: declaration.contains_key("Default"),
                })
            })
            .collect()
    } else {
        let document: Yaml = serde_yaml_ng::from_str(body).map_err(|e| e.to_string())?;
        let Some(parameters) = document.get("Parameters") else {
            return Ok(Vec::new());
        };
        let parameters = parameters
            .as_mapping()
            .ok_or("its Parameters is not a mapping")?;
        parameters
            .iter()
            .map(|(name, declaration)| {
                let name = name
                    .as_str()
                    .ok_or_else(|| format!("parameter name {name:?} is not a string"))?;
                let declaration = declaration
                    .as_mapping()
                    .ok_or_else(|| format!("parameter {name} is not a mapping"))?;
                Ok(Declared {
                    name: name.to_owned(),
                    has_default: declaration.contains_key("Default"),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::cloudformation::BUNDLED_TEMPLATE;

    fn required(body: &str) -> Vec<String> {
        declared_parameters(body)
            .unwrap()
            .into_iter()
            .filter(|d| !d.has_default)
            .map(|d| d.name)
            .collect()
    }

    #[test]
    fn the_bundled_template_requires_the_drivers_parameters_and_the_network() {
        let mut extras: Vec<String> = required(BUNDLED_TEMPLATE)
            .into_iter()
            .filter(|name| !DRIVER_PARAMETERS.contains(&name.as_str()))
            .collect();
        extras.sort();
        assert_eq!(extras, ["SubnetIds", "VpcId"]);
    }

    #[test]
    fn the_driver_sets_every_parameter_counted_as_filled_here() {
        use std::collections::BTreeMap;

        use crate::cloud::cloudformation::{CloudFormationCloud, CloudFormationSettings};

        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        for name in DRIVER_PARAMETERS {
            let settings = CloudFormationSettings {
                deployment: "test".into(),
                domain: None,
                jwt_issuer: "https://login.example.org".into(),
                template_body: BUNDLED_TEMPLATE.into(),
                parameters: BTreeMap::from([(name.to_owned(), "x".to_owned())]),
                project_bucket: None,
            };
            // The driver refuses an extra of exactly the names it sends itself.
            assert!(
                CloudFormationCloud::from_sdk_config(&sdk, settings).is_err(),
                "the driver sends {name}"
            );
        }
    }

    #[test]
    fn short_form_functions_in_yaml_do_not_break_the_parse() {
        let body = "Parameters:\n  Name:\n    Type: String\n  Zone:\n    Type: String\n    Default: !Ref AWS::Region\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub \"${Name}-topic\"\n      Tags: !If [HasName, [], !Ref AWS::NoValue]\n";
        assert_eq!(
            declared_parameters(body).unwrap(),
            [
                Declared {
                    name: "Name".into(),
                    has_default: false
                },
                Declared {
                    name: "Zone".into(),
                    has_default: true
                },
            ]
        );
    }

    #[test]
    fn a_json_template_is_read_too() {
        let body = "{\n\t\"Parameters\": {\"KeyName\": {\"Type\": \"String\"}, \"Size\": {\"Type\": \"Number\", \"Default\": 1}},\n\t\"Resources\": {}\n}";
        assert_eq!(required(body), ["KeyName"]);
    }

    #[test]
    fn a_template_without_parameters_requires_none() {
        assert!(required("Resources: {}\n").is_empty());
    }

    #[test]
    fn a_template_that_does_not_parse_says_why() {
        assert!(declared_parameters("Parameters: [unclosed\n").is_err());
        assert!(declared_parameters("Parameters: 7\n").is_err());
    }
}
