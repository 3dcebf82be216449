//! Ingress for `/` (web UI) and `/api` with TLS and the guide's security headers, and a separate Ingress for
//! `/metrics` limited to the allowed source ranges. Header/allow-list annotations are ingress-nginx's; the service
//! sets the same headers itself (DESIGN.md), so they also hold behind other controllers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    IngressTLS, ServiceBackendPort,
};
use kube::ResourceExt;

use super::labels::{self, Component};
use crate::crd::{self, BiddingDeployment};

pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-XSS-Protection", "1; mode=block"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
];

fn headers_name(bd: &BiddingDeployment) -> String {
    format!("{}-security-headers", bd.name_any())
}

pub fn security_headers(bd: &BiddingDeployment) -> ConfigMap {
    ConfigMap {
        metadata: labels::owned_meta(bd, headers_name(bd), labels::labels(bd, Component::Ingress, None)),
        data: Some(SECURITY_HEADERS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        ..Default::default()
    }
}

fn path(prefix: &str, bd: &BiddingDeployment, port: &str) -> HTTPIngressPath {
    HTTPIngressPath {
        path: Some(prefix.into()),
        path_type: "Prefix".into(),
        backend: IngressBackend {
            service: Some(IngressServiceBackend {
                name: Component::Api.name(bd),
                port: Some(ServiceBackendPort { name: Some(port.into()), number: None }),
            }),
            resource: None,
        },
    }
}

fn ingress(bd: &BiddingDeployment, spec: &crd::IngressSpec, name: String, paths: Vec<HTTPIngressPath>, annotations: BTreeMap<String, String>) -> Ingress {
    let mut metadata = labels::owned_meta(bd, name, labels::labels(bd, Component::Ingress, None));
    metadata.annotations = Some(annotations);
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: spec.class_name.clone(),
            tls: spec.tls_secret_name.as_ref().map(|secret| {
                vec![IngressTLS { hosts: Some(vec![spec.host.clone()]), secret_name: Some(secret.clone()) }]
            }),
            rules: Some(vec![IngressRule {
                host: Some(spec.host.clone()),
                http: Some(HTTPIngressRuleValue { paths }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn app_ingress(bd: &BiddingDeployment, spec: &crd::IngressSpec) -> Ingress {
    let mut annotations = BTreeMap::from([
        ("nginx.ingress.kubernetes.io/custom-headers".to_string(), format!("{}/{}", bd.namespace().unwrap_or_default(), headers_name(bd))),
        ("nginx.ingress.kubernetes.io/proxy-body-size".to_string(), format!("{}m", bd.spec.max_upload_mib)),
        ("nginx.ingress.kubernetes.io/ssl-redirect".to_string(), spec.tls_secret_name.is_some().to_string()),
    ]);
    annotations.extend(spec.annotations.clone());
    ingress(bd, spec, bd.name_any(), vec![path("/api", bd, "http"), path("/", bd, "ui")], annotations)
}

/// `None` when no source range may scrape metrics from outside the cluster.
pub fn metrics_ingress(bd: &BiddingDeployment, spec: &crd::IngressSpec) -> Option<Ingress> {
    if spec.metrics_allowed_cidrs.is_empty() {
        return None;
    }
    let annotations = BTreeMap::from([(
        "nginx.ingress.kubernetes.io/whitelist-source-range".to_string(),
        spec.metrics_allowed_cidrs.join(","),
    )]);
    Some(ingress(bd, spec, format!("{}-metrics", bd.name_any()), vec![path("/metrics", bd, "metrics")], annotations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::sample;

    #[test]
    fn the_app_ingress_serves_ui_and_api_over_tls_with_security_headers() {
        let bd = sample();
        let spec = bd.spec.ingress.clone().unwrap_or_else(|| panic!("sample has an ingress"));
        let value = serde_json::to_value(app_ingress(&bd, &spec)).unwrap_or_default();
        assert_eq!(value["spec"]["tls"][0]["secretName"], "bids-tls");
        let paths = &value["spec"]["rules"][0]["http"]["paths"];
        assert_eq!((paths[0]["path"].as_str(), paths[1]["path"].as_str()), (Some("/api"), Some("/")));
        assert!(value["spec"]["rules"][0]["http"]["paths"].to_string().find("/metrics").is_none());
        assert_eq!(value["metadata"]["annotations"]["nginx.ingress.kubernetes.io/custom-headers"], "tenders/bids-security-headers");
        assert!(security_headers(&bd).data.unwrap_or_default().contains_key("Strict-Transport-Security"));
    }

    #[test]
    fn metrics_are_exposed_only_to_the_allowed_cidrs() {
        let bd = sample();
        let mut spec = bd.spec.ingress.clone().unwrap_or_else(|| panic!("sample has an ingress"));
        let metrics = metrics_ingress(&bd, &spec).and_then(|i| i.metadata.annotations).unwrap_or_default();
        assert_eq!(metrics.get("nginx.ingress.kubernetes.io/whitelist-source-range").map(String::as_str), Some("10.0.0.0/8"));
        spec.metrics_allowed_cidrs.clear();
        assert!(metrics_ingress(&bd, &spec).is_none());
    }
}
