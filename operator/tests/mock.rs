//! Reconcile scenarios a real API server cannot stage on demand, against a mock client (tower-test, as kube-rs
//! recommends): a damaged generated Secret, and losing the race to create it to another (previous) leader.

use std::sync::{Arc, Mutex};

use aibid_operator::capabilities::Capabilities;
use aibid_operator::crd::BiddingDeployment;
use aibid_operator::metrics::Metrics;
use aibid_operator::reconcile::{self, Context};
use aibid_operator::render::{secrets, Credentials};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};

type Log = Arc<Mutex<Vec<(String, String, Value)>>>;

fn sample() -> BiddingDeployment {
    let mut bd: BiddingDeployment = serde_yaml::from_str(
        "apiVersion: aibid.dev/v1alpha1\nkind: BiddingDeployment\nmetadata: {name: bids, namespace: tenders, uid: 11111111-2222-4333-8444-555555555555, generation: 1}\nspec: {version: '1.0.0'}\n",
    )
    .unwrap_or_else(|e| panic!("sample: {e}"));
    bd.metadata.resource_version = Some("1".into());
    bd
}

fn status(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": reason, "reason": reason, "code": code})
}

fn respond(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string().into_bytes()))
        .unwrap_or_else(|e| panic!("response: {e}"))
}

/// A fake API server: `generated` answers GETs of the generated Secret in turn; creating it conflicts;
/// every other GET is a 404 and every PATCH/POST is echoed back (status patches answer with the CR).
fn mock(generated: Vec<Option<Value>>) -> (Client, Log) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let log: Log = Arc::default();
    let seen = log.clone();
    tokio::spawn(async move {
        let mut generated = generated.into_iter();
        while let Some((request, send)) = handle.next_request().await {
            let (method, path) = (
                request.method().to_string(),
                request.uri().path().to_string(),
            );
            let bytes = request
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes().to_vec())
                .unwrap_or_default();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            seen.lock().unwrap_or_else(|p| p.into_inner()).push((
                method.clone(),
                path.clone(),
                body.clone(),
            ));
            let response = match (method.as_str(), path.as_str()) {
                ("GET", "/api/v1/namespaces/tenders/secrets/bids-generated") => {
                    match generated.next().flatten() {
                        Some(secret) => respond(200, &secret),
                        None => respond(404, &status(404, "NotFound")),
                    }
                }
                ("POST", "/api/v1/namespaces/tenders/secrets") => {
                    respond(409, &status(409, "AlreadyExists"))
                }
                ("GET", _) => respond(404, &status(404, "NotFound")),
                ("PATCH", p) if p.ends_with("/status") => {
                    let mut bd = serde_json::to_value(sample()).unwrap_or_default();
                    bd["status"] = body["status"].clone();
                    respond(200, &bd)
                }
                _ => respond(200, &body),
            };
            send.send_response(response);
        }
    });
    (Client::new(service, "tenders"), log)
}

fn context(client: Client) -> Arc<Context> {
    Arc::new(Context::new(
        client,
        Metrics::shared(),
        Capabilities::everything(),
        "mock",
    ))
}

fn secret_json(credentials: &Credentials) -> Value {
    serde_json::to_value(secrets::generated_secret(&sample(), credentials)).unwrap_or_default()
}

#[tokio::test]
async fn a_damaged_generated_secret_stops_reconcile_before_any_write() {
    let mut damaged = secret_json(&secrets::generate_credentials());
    damaged["data"]
        .as_object_mut()
        .map(|data| data.remove("postgres-password"));
    let (client, log) = mock(vec![Some(damaged)]);
    let result = reconcile::reconcile(Arc::new(sample()), context(client)).await;
    let error = result
        .err()
        .unwrap_or_else(|| panic!("a damaged Secret must fail the reconcile"));
    assert_eq!(error.metric_label(), "GeneratedSecretDamaged");
    assert!(error.to_string().contains("postgres-password"), "{error}");
    let writes = log
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(m, _, _)| m != "GET")
        .count();
    assert_eq!(writes, 0, "nothing may be written with unknown credentials");
}

#[tokio::test]
async fn losing_the_race_to_create_the_secret_uses_the_winners_credentials() {
    let winner = secrets::generate_credentials();
    let (client, log) = mock(vec![None, Some(secret_json(&winner))]);
    reconcile::reconcile(Arc::new(sample()), context(client))
        .await
        .unwrap_or_else(|e| panic!("reconcile: {e}"));
    let log = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let creates = log
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/secrets"))
        .count();
    assert_eq!(
        creates, 1,
        "one create attempt, then read the winner's Secret"
    );
    let connection = log
        .iter()
        .find(|(m, p, _)| m == "PATCH" && p.ends_with("/secrets/bids-connection"))
        .unwrap_or_else(|| panic!("connection Secret not applied: {log:?}"));
    let url = connection.2["data"]["database-url"]
        .as_str()
        .unwrap_or_default();
    use base64::Engine;
    let url = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(url)
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert!(
        url.contains(&winner.postgres_password),
        "connection URL must use the winner's password: {url}"
    );
}

#[tokio::test]
async fn repeated_failures_back_off_exponentially_up_to_five_minutes() {
    let (client, _log) = mock(vec![]);
    let ctx = context(client);
    let bd = sample();
    let delays: Vec<u64> = (0..10).map(|_| ctx.backoff(&bd).as_secs()).collect();
    assert_eq!(delays, vec![2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
}

#[tokio::test]
async fn nothing_is_applied_once_the_cr_is_being_deleted() {
    let (client, log) = mock(vec![]);
    let mut bd = sample();
    bd.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    reconcile::reconcile(Arc::new(bd), context(client))
        .await
        .unwrap_or_else(|e| panic!("reconcile: {e}"));
    let requests = log.lock().unwrap_or_else(|p| p.into_inner()).len();
    assert_eq!(requests, 0, "a CR being deleted must not be touched");
}
