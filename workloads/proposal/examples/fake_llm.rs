//! Runs the fake OpenAI-compatible LLM server standalone for manual and browser tests.
//! `cargo run -p aibid-proposal --features fake-llm --example fake_llm -- [PORT]`
//! Script replies with `POST /fake/script` (e.g. `[{"kind":"rate_limited","retry_after_secs":2}]`),
//! inspect calls with `GET /fake/requests`.

use aibid_proposal::testing::FakeLlm;
use std::net::SocketAddr;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|e| format!("port {arg:?} is not a number: {e}"))?,
        None => 0,
    };
    let fake = FakeLlm::start_on(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("fake LLM listening; use base URL {}", fake.base_url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
