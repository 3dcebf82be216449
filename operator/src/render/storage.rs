//! The uploads/outputs volume shared by API, workers and scheduler. Retained (no ownerReference) unless
//! `storage.retainOnDelete: false`, so deleting the CR never deletes users' files by accident.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::ResourceExt;

use super::labels::{self, Component};
use crate::crd::{AccessMode, BiddingDeployment};

pub fn files_claim_name(bd: &BiddingDeployment) -> String {
    format!("{}-files", bd.name_any())
}

pub fn files_claim(bd: &BiddingDeployment) -> PersistentVolumeClaim {
    let storage = &bd.spec.storage;
    let labels = labels::labels(bd, Component::Storage, None);
    let metadata = if storage.retain_on_delete {
        labels::retained_meta(bd, files_claim_name(bd), labels)
    } else {
        labels::owned_meta(bd, files_claim_name(bd), labels)
    };
    let access_mode = match storage.access_mode {
        AccessMode::ReadWriteMany => "ReadWriteMany",
        AccessMode::ReadWriteOnce => "ReadWriteOnce",
    };
    PersistentVolumeClaim {
        metadata,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![access_mode.into()]),
            storage_class_name: storage.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_string(), Quantity(storage.size.clone()))])),
                limits: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::sample;

    #[test]
    fn the_files_volume_survives_the_cr_unless_asked_otherwise() {
        let mut bd = sample();
        assert_eq!(files_claim(&bd).metadata.owner_references, None);
        bd.spec.storage.retain_on_delete = false;
        assert_eq!(files_claim(&bd).metadata.owner_references.map(|o| o.len()), Some(1));
    }
}
