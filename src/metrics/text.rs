//! OpenMetrics text of a snapshot, written by `prometheus-client` (names, escaping, `_total`, `# EOF`).

use std::collections::HashMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::registry::Registry;

use super::snapshot::{Family, Kind, Value};

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The snapshot as a collector: the registry calls it once, at encoding time.
#[derive(Debug)]
struct Snapshot(Vec<Family>);

/// A series' value, shaped for the encoder's metric interface.
struct Metric<'a>(Kind, &'a Value);

impl EncodeMetric for Metric<'_> {
    fn encode(&self, mut encoder: prometheus_client::encoding::MetricEncoder) -> Result<(), std::fmt::Error> {
        match (self.0, self.1) {
            (Kind::Counter, Value::Scalar(v)) => encoder.encode_counter::<NoLabelSet, _, f64>(v, None),
            (Kind::Gauge, Value::Scalar(v)) => encoder.encode_gauge(v),
            (_, Value::Histogram(b)) => encoder.encode_histogram(
                b.sum_s,
                b.total(),
                &b.pairs(),
                None::<&HashMap<usize, Exemplar<NoLabelSet, f64>>>,
            ),
            (Kind::Histogram, Value::Scalar(_)) => Err(std::fmt::Error),
        }
    }

    fn metric_type(&self) -> MetricType {
        metric_type(self.0)
    }
}

fn metric_type(kind: Kind) -> MetricType {
    match kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
        Kind::Histogram => MetricType::Histogram,
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0 {
            let mut metric = encoder.encode_descriptor(f.name, f.help, None, metric_type(f.kind))?;
            for s in &f.series {
                let labels: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
                Metric(f.kind, &s.value).encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

pub fn encode(families: Vec<Family>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot(families)));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).expect("writing into a String cannot fail");
    out
}
