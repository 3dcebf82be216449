//! The operator's one error type. `metric_label()` names the variant only, so error metrics stay bounded.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("Kubernetes API call failed ({context}): {source}")]
    Kube {
        context: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("BiddingDeployment {0} has no namespace")]
    MissingNamespace(String),
    #[error("generated Secret {name} is damaged: {problem}; restore it from a backup or delete it to regenerate (rotates all keys)")]
    GeneratedSecretDamaged { name: String, problem: String },
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    #[error("could not serialise {0}")]
    Serialization(String),
}

impl Error {
    pub fn kube(context: impl Into<String>, source: kube::Error) -> Self {
        Self::Kube { context: context.into(), source: Box::new(source) }
    }

    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Kube { .. } => "Kube",
            Self::MissingNamespace(_) => "MissingNamespace",
            Self::GeneratedSecretDamaged { .. } => "GeneratedSecretDamaged",
            Self::InvalidSpec(_) => "InvalidSpec",
            Self::Serialization(_) => "Serialization",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_labels_never_carry_the_message() {
        let error = Error::InvalidSpec("database.managed and database.external both set for tenant 42".into());
        assert_eq!(error.metric_label(), "InvalidSpec");
    }
}
