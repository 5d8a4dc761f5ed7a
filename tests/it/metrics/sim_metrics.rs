//! The simulator's own `/metrics`: `http_request_duration_seconds` by route and code, API traffic only, unknown
//! paths folded into one `route="other"`.

use crate::support::{get, sim};

#[test]
fn the_simulator_counts_api_requests_by_route_and_code() {
    let s = sim(Default::default());
    let port = s.ports.http;
    assert_eq!(get(port, "/status").status, 200);
    assert_eq!(get(port, "/status").status, 200);
    for path in ["/nope", "/also/not/here"] {
        assert_eq!(get(port, path).status, 404);
    }
    let scrape = crate::metrics::http_get(port, "/metrics").expect("/metrics answers 200");
    let count = |labels: &str| {
        let prefix = format!("http_request_duration_seconds_count{{{labels}}} ");
        scrape.lines().find_map(|l| l.strip_prefix(prefix.as_str())).map(|v| v.parse::<u64>().unwrap())
    };
    assert_eq!(count(r#"route="/status",code="200""#), Some(2), "{scrape}");
    assert_eq!(count(r#"route="other",code="404""#), Some(2), "{scrape}");
    assert!(!scrape.contains("/nope") && !scrape.contains("/metrics"), "no path of its own: {scrape}");
    assert!(scrape.contains(r#"http_request_duration_seconds_bucket{le="0.25",route="/status",code="200"}"#));
}
