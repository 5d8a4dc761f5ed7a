//! `GET /metrics` on the simulator's HTTP port: `http_request_duration_seconds` by route and status code, as the
//! real service's dashboards and the runbook's Incident 3 query (`histogram_quantile(0.95,
//! rate(http_request_duration_seconds_bucket[5m]))`) assume, so drills can read the service's own view through
//! Prometheus.
//!
//! Measured in the bridge from the request's arrival to its reply (the wait for a frame included, which is where
//! slow frames show), for API routes only: `/__sim/` controls and `/metrics` itself are not API traffic. Like the
//! controls it is answered off the frame and needs no token, so a scrape works however slow or locked the API is.
//! Routes outside the API are one `route="other"`, so a scan of random paths cannot grow the label set.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::api::Endpoint;

/// The client libraries' default buckets (seconds): what dashboards built for them expect.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const EXTRA_ROUTES: [&str; 2] = ["/connect", "/disconnect"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    route: &'static str,
    code: u16,
}

pub struct HttpMetrics {
    registry: Registry,
    durations: Family<Labels, Histogram>,
}

impl HttpMetrics {
    pub fn new() -> Self {
        let durations = Family::<Labels, Histogram>::new_with_constructor(|| Histogram::new(BUCKETS));
        let mut registry = Registry::default();
        registry.register(
            "http_request_duration_seconds",
            "HTTP API request latency by route and code",
            durations.clone(),
        );
        Self { registry, durations }
    }

    /// One answered API request.
    pub fn observe(&self, path: &str, code: u16, seconds: f64) {
        let route = Endpoint::ALL.iter().map(|e| e.path()).chain(EXTRA_ROUTES).find(|r| *r == path).unwrap_or("other");
        self.durations.get_or_create(&Labels { route, code }).observe(seconds);
    }

    /// The OpenMetrics text of a scrape.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing into a String cannot fail");
        out
    }
}
