//! Leader election on a coordination.k8s.io/v1 Lease, so two operator replicas never both write.
//! Hand-written (about 80 lines): kube-runtime 5 has no lease helper and the third-party crates lag kube releases.
//! Optimistic concurrency (resourceVersion on replace) makes acquire/renew atomic.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};
use kube::Client;

#[derive(Clone)]
pub struct LeaseLock {
    api: Api<Lease>,
    pub name: String,
    pub identity: String,
    pub duration: Duration,
}

impl LeaseLock {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str, duration: Duration) -> Self {
        Self { api: Api::namespaced(client, namespace), name: name.into(), identity: identity.into(), duration }
    }

    fn spec(&self, now: Timestamp, acquired: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.duration.as_secs().max(1) as i32),
            acquire_time: Some(acquired.unwrap_or(MicroTime(now))),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    /// Take or renew the lease. `Ok(true)` while we hold it; `Ok(false)` when another live holder has it
    /// or we lost a race (a 409 conflict).
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let Some(current) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.name.clone()), ..Default::default() },
                spec: Some(self.spec(now, None, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = current.spec.clone().unwrap_or_default();
        let ours = spec.holder_identity.as_deref() == Some(self.identity.as_str());
        let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
            (Some(renewed), Some(seconds)) => renewed.0 + SignedDuration::from_secs(i64::from(seconds)) < now,
            _ => true,
        };
        if !ours && !expired {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
        let acquired = if ours { spec.acquire_time.clone() } else { None };
        let mut next = current.clone();
        next.spec = Some(self.spec(now, acquired, transitions));
        // `replace` sends our resourceVersion: a concurrent writer makes this a 409 instead of a double leader.
        match self.api.replace(&self.name, &PostParams::default(), &next).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Wait until this replica holds the lease.
    pub async fn acquire(&self) -> Result<(), kube::Error> {
        loop {
            if self.try_acquire_or_renew().await? {
                return Ok(());
            }
            tokio::time::sleep(self.duration / 3).await;
        }
    }

    /// Renew every third of the lease duration; returns when the lease is lost (or cannot be renewed in time).
    pub async fn hold(&self) -> kube::Error {
        let mut last_renewal = std::time::Instant::now();
        loop {
            tokio::time::sleep(self.duration / 3).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewal = std::time::Instant::now(),
                Ok(false) => return lost("another replica holds the lease"),
                Err(e) if last_renewal.elapsed() >= self.duration => return e,
                Err(_) => {}
            }
        }
    }
}

fn lost(message: &str) -> kube::Error {
    kube::Error::Api(Box::new(kube::core::Status::failure(message, "LeaseLost").with_code(409)))
}
