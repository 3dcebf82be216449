//! Benchmark (not a test): time to render every child of one BiddingDeployment, against a baseline measured in the
//! same process — a serde JSON round-trip of the same CR. Prints both and their ratio. Run by hack/bench-operator.sh.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aibid_operator::crd::BiddingDeployment;
use aibid_operator::render::{self, Credentials, Observed};

// The allocator of the operator binary, so the figure is the operator's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median_per_iteration(rounds: usize, iterations: u32, mut work: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..iterations {
                work();
            }
            started.elapsed() / iterations
        })
        .collect();
    samples.sort();
    samples[rounds / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "manifests/samples/production.yaml".into());
    let mut bd: BiddingDeployment = serde_yaml::from_str(&std::fs::read_to_string(&path)?)?;
    bd.metadata.uid = Some("00000000-0000-4000-8000-000000000000".into());
    let observed = Observed {
        credentials: Credentials::placeholders(),
        migrated_version: Some(bd.spec.version.clone()),
        secret_digests: Default::default(),
    };
    let children = render::render_all(&bd, &observed).len();

    let baseline = median_per_iteration(5, 2000, || {
        let json = serde_json::to_string(black_box(&bd)).unwrap_or_default();
        black_box(serde_json::from_str::<BiddingDeployment>(&json).ok());
    });
    let render = median_per_iteration(5, 2000, || {
        black_box(render::render_all(black_box(&bd), &observed));
    });
    println!("sample: {path} ({children} children)");
    println!(
        "baseline serde JSON round-trip of the CR: {:.1} µs",
        baseline.as_secs_f64() * 1e6
    );
    println!(
        "render every child:                       {:.1} µs (target < 1000 µs)",
        render.as_secs_f64() * 1e6
    );
    println!(
        "ratio render / baseline: {:.1}x",
        render.as_secs_f64() / baseline.as_secs_f64()
    );
    Ok(())
}
