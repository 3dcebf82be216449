//! Secrets: the generated one (JWT/encryption keys, admin/PostgreSQL/Redis passwords), created once when absent and
//! never regenerated, and the connection Secret with the managed database/Redis URLs built from it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use rand::distr::{Alphanumeric, SampleString};

use super::labels::{self, Component};
use super::settings::connection_secret_name;
use super::Credentials;
use crate::crd::BiddingDeployment;

const KEYS: [&str; 5] = [
    "jwt-secret",
    "encryption-key",
    "admin-password",
    "postgres-password",
    "redis-password",
];

/// Fresh random credentials (48 alphanumeric characters: URL-safe, so they embed in connection URLs unescaped).
pub fn generate_credentials() -> Credentials {
    let random = || Alphanumeric.sample_string(&mut rand::rng(), 48);
    Credentials {
        jwt_secret: random(),
        encryption_key: random(),
        admin_password: random(),
        postgres_password: random(),
        redis_password: random(),
    }
}

fn values(credentials: &Credentials) -> [&str; 5] {
    [
        &credentials.jwt_secret,
        &credentials.encryption_key,
        &credentials.admin_password,
        &credentials.postgres_password,
        &credentials.redis_password,
    ]
}

/// Whether the generated Secret must outlive the CR: its passwords and keys protect data that survives deletion
/// (an external database, or a managed PostgreSQL/Redis volume kept by `retainOnDelete`). Only when every such
/// volume is deleted with the CR does the Secret go with it.
pub fn generated_secret_retained(bd: &BiddingDeployment) -> bool {
    let database_survives = bd
        .spec
        .database
        .managed()
        .is_none_or(|db| db.storage.retain_on_delete);
    let redis_survives = bd
        .spec
        .redis
        .managed()
        .is_some_and(|redis| redis.storage.retain_on_delete);
    database_survives || redis_survives
}

/// Metadata of the generated Secret: no ownerReference while it must outlive the CR (see
/// [`generated_secret_retained`]), so a re-created CR adopts it and keeps matching the retained database.
pub fn generated_secret_meta(
    bd: &BiddingDeployment,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    let (name, labels) = (
        super::generated_secret_name(bd),
        labels::labels(bd, Component::Config, None),
    );
    if generated_secret_retained(bd) {
        labels::retained_meta(bd, name, labels)
    } else {
        labels::owned_meta(bd, name, labels)
    }
}

/// The generated Secret. Never updated by the operator after creation except for its ownerReference.
pub fn generated_secret(bd: &BiddingDeployment, credentials: &Credentials) -> Secret {
    let data = KEYS
        .iter()
        .zip(values(credentials))
        .map(|(key, value)| (key.to_string(), ByteString(value.as_bytes().to_vec())))
        .collect();
    Secret {
        metadata: generated_secret_meta(bd),
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Default::default()
    }
}

/// Read credentials back from an existing generated Secret; `Err` names the missing or non-UTF-8 key.
pub fn read_credentials(secret: &Secret) -> Result<Credentials, String> {
    let data = secret.data.clone().unwrap_or_default();
    let get = |key: &str| -> Result<String, String> {
        let bytes = data.get(key).ok_or_else(|| format!("key {key} missing"))?;
        String::from_utf8(bytes.0.clone()).map_err(|_| format!("key {key} is not UTF-8"))
    };
    Ok(Credentials {
        jwt_secret: get(KEYS[0])?,
        encryption_key: get(KEYS[1])?,
        admin_password: get(KEYS[2])?,
        postgres_password: get(KEYS[3])?,
        redis_password: get(KEYS[4])?,
    })
}

/// Connection URLs of the managed PostgreSQL and Redis (rendered on every reconcile; no keys for external ones).
pub fn connection_secret(bd: &BiddingDeployment, credentials: &Credentials) -> Secret {
    let mut data = BTreeMap::new();
    if bd.spec.database.managed().is_some() {
        data.insert(
            "database-url".to_string(),
            ByteString(super::postgres::url(bd, credentials).into_bytes()),
        );
    }
    if bd.spec.redis.managed().is_some() {
        data.insert(
            "redis-url".to_string(),
            ByteString(super::redis::url(bd, credentials).into_bytes()),
        );
    }
    Secret {
        metadata: labels::owned_meta(
            bd,
            connection_secret_name(bd),
            labels::labels(bd, Component::Config, None),
        ),
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::sample;

    #[test]
    fn generated_credentials_read_back_identically_and_differ_per_install() {
        let bd = sample();
        let credentials = generate_credentials();
        assert_eq!(
            read_credentials(&generated_secret(&bd, &credentials)),
            Ok(credentials.clone())
        );
        assert_ne!(generate_credentials(), credentials);
        assert!(
            credentials.jwt_secret.len() >= 32,
            "the service requires JWT secrets of at least 32 characters"
        );
    }

    #[test]
    fn generated_keys_outlive_the_cr_while_the_database_they_unlock_does() {
        let mut bd = sample();
        let owners = |bd: &BiddingDeployment| {
            generated_secret(bd, &generate_credentials())
                .metadata
                .owner_references
        };
        assert_eq!(owners(&bd), None, "default: volumes retained, keys too");
        let mut db = bd.spec.database.managed().unwrap_or_default();
        db.storage.retain_on_delete = false;
        bd.spec.database.managed = Some(db);
        assert_eq!(
            owners(&bd),
            None,
            "the retained Redis volume still needs its password"
        );
        let mut redis = bd.spec.redis.managed().unwrap_or_default();
        redis.storage.retain_on_delete = false;
        bd.spec.redis.managed = Some(redis);
        assert_eq!(
            owners(&bd).map(|o| o.len()),
            Some(1),
            "nothing retained: the keys go with the CR"
        );
        bd.spec.database.external = Some(crate::crd::ExternalService {
            url_secret_ref: crate::crd::SecretKeyRef {
                name: "ext".into(),
                key: "url".into(),
            },
        });
        assert_eq!(
            owners(&bd),
            None,
            "an external database keeps data encrypted with these keys"
        );
    }

    #[test]
    fn a_damaged_generated_secret_is_reported_by_key() {
        let mut secret = generated_secret(&sample(), &generate_credentials());
        if let Some(data) = secret.data.as_mut() {
            data.remove("redis-password");
        }
        assert_eq!(
            read_credentials(&secret),
            Err("key redis-password missing".into())
        );
    }

    #[test]
    fn external_services_leave_no_url_in_the_connection_secret() {
        let mut bd = sample();
        let reference = crate::crd::SecretKeyRef {
            name: "ext".into(),
            key: "url".into(),
        };
        bd.spec.database.external = Some(crate::crd::ExternalService {
            url_secret_ref: reference.clone(),
        });
        bd.spec.redis.external = Some(crate::crd::ExternalService {
            url_secret_ref: reference,
        });
        assert_eq!(
            connection_secret(&bd, &generate_credentials()).data,
            Some(BTreeMap::new())
        );
    }
}
