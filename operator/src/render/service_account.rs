//! The ServiceAccount the aibid pods run as: no API token mounted (aibid never calls the API server).

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::ResourceExt;

use super::labels::{self, Component};
use crate::crd::BiddingDeployment;

pub fn name(bd: &BiddingDeployment) -> String {
    format!("{}-aibid", bd.name_any())
}

pub fn service_account(bd: &BiddingDeployment) -> ServiceAccount {
    ServiceAccount {
        metadata: labels::owned_meta(bd, name(bd), labels::labels(bd, Component::Config, None)),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}
