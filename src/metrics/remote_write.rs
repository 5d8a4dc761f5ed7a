//! Prometheus remote write (protocol 1.0): a snapshot as a protobuf `WriteRequest`, snappy-compressed, POSTed.
//! For runs nothing can scrape (Kubernetes shards): every series carries `job` and `shard`, so a dashboard sums
//! shards with `sum without (shard)`. Over HTTP or HTTPS (the run's TLS options).
//!
//! The four messages are declared here with `prost` derives (field numbers from prometheus/prompb `types.proto`
//! and `remote.proto`), which is all of the protocol a sender needs.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use prost::Message;

use super::buckets::BOUNDS;
use super::snapshot::{Family, Kind, Value};
use crate::tls::{Dialer, TlsOptions};
use crate::url::{ServiceUrl, UrlRole};

/// One POST's worth: every series of a snapshot at one timestamp; `Default` is the empty request a receiver
/// accepts, which the TLS tests send to check the connection alone.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub(crate) timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub(crate) labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub(crate) samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct Label {
    #[prost(string, tag = "1")]
    pub(crate) name: String,
    #[prost(string, tag = "2")]
    pub(crate) value: String,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct Sample {
    #[prost(double, tag = "1")]
    pub(crate) value: f64,
    #[prost(int64, tag = "2")]
    pub(crate) timestamp: i64,
}

/// The snapshot as time series at `timestamp_ms`, with `extra` labels on each (labels sorted, as receivers need).
pub(crate) fn write_request(families: &[Family], extra: &[(&str, &str)], timestamp_ms: i64) -> WriteRequest {
    let mut timeseries = Vec::new();
    let mut push = |name: String, labels: Vec<(&str, String)>, value: f64| {
        // A series' own label wins over an extra of the same name (`drill_run_info` has its `shard` already).
        let extra = extra.iter().filter(|(k, _)| !labels.iter().any(|(l, _)| l == k));
        let extra: Vec<Label> = extra.map(|(k, v)| Label { name: (*k).to_owned(), value: (*v).to_owned() }).collect();
        let mut labels: Vec<Label> = labels
            .into_iter()
            .map(|(k, v)| Label { name: k.to_owned(), value: v })
            .chain(extra)
            .chain([Label { name: "__name__".into(), value: name }])
            .collect();
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        timeseries.push(TimeSeries { labels, samples: vec![Sample { value, timestamp: timestamp_ms }] });
    };
    for f in families {
        for s in &f.series {
            let labels = || s.labels.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
            match (&s.value, f.kind) {
                (Value::Scalar(v), Kind::Counter) => push(format!("{}_total", f.name), labels(), *v),
                (Value::Scalar(v), _) => push(f.name.to_owned(), labels(), *v),
                (Value::Histogram(b), _) => {
                    let mut cumulative = 0;
                    let bounds = BOUNDS.iter().map(f64::to_string).chain(["+Inf".to_owned()]);
                    for (le, n) in bounds.zip(&b.counts) {
                        cumulative += n;
                        let mut l = labels();
                        l.push(("le", le));
                        push(format!("{}_bucket", f.name), l, cumulative as f64);
                    }
                    push(format!("{}_sum", f.name), labels(), b.sum_s);
                    push(format!("{}_count", f.name), labels(), b.total() as f64);
                }
            }
        }
    }
    WriteRequest { timeseries }
}

/// POSTs write requests to one URL, over HTTPS with the run's TLS options when the URL is `https` (a private CA in
/// `ca_file`, `insecure`, a client certificate): the same client the load engines use ([`Dialer`]).
///
/// A new connection per push: one every [`super::PUSH_EVERY`] costs nothing worth keeping a connection for, and a
/// receiver restarted between pushes is simply dialled again (TLS sessions resume from the config's cache).
#[derive(Clone)]
pub struct Writer {
    dialer: Dialer,
    url: ServiceUrl,
}

impl Writer {
    /// Checks the URL and reads the TLS files now, so a bad one fails the run before any load.
    pub fn new(url: &str, tls: &TlsOptions) -> anyhow::Result<Writer> {
        let url = ServiceUrl::parse(url, UrlRole::RemoteWrite).map_err(|e| anyhow::anyhow!("remote-write URL {e}"))?;
        let config = if url.secure { Some(crate::tls::client_config(tls)?) } else { None };
        Ok(Writer { dialer: Dialer::new(&url, config.as_ref())?, url })
    }

    /// Send one request; `Err` names the HTTP status and the receiver's message, or the TLS problem in words.
    pub async fn send(&self, req: &WriteRequest, timeout: Duration) -> Result<(), String> {
        let body = snap::raw::Encoder::new().compress_vec(&req.encode_to_vec()).map_err(|e| e.to_string())?;
        let request = hyper::Request::post(self.url.path.as_str())
            .header(hyper::header::HOST, self.url.authority())
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("User-Agent", concat!("spacetime-drill/", env!("CARGO_PKG_VERSION")))
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let stream = self.dialer.dial().await?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            let conn = tokio::spawn(conn);
            let resp = sender.send_request(request).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            drop(sender);
            conn.abort();
            anyhow::Ok((status, body))
        };
        let (status, body) = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {timeout:?}"))?
            .map_err(|e| match e.chain().find_map(crate::tls::explain) {
                Some(why) => format!("TLS to {}: {why}", self.url),
                None => format!("{e:#}"),
            })?;
        if status.is_success() {
            return Ok(());
        }
        Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body).trim().chars().take(200).collect::<String>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::buckets::Buckets;
    use crate::metrics::snapshot::Series;

    #[test]
    fn histograms_expand_to_cumulative_buckets_and_labels_are_sorted() {
        let mut counts = vec![0; BOUNDS.len() + 1];
        counts[10] = 3;
        counts[BOUNDS.len()] = 1;
        let families = vec![
            Family {
                name: "h_seconds",
                help: "",
                kind: Kind::Histogram,
                series: vec![Series {
                    labels: vec![("phase", "p".into())],
                    value: Value::Histogram(Buckets { counts, sum_s: 9.5 }),
                }],
            },
            Family {
                name: "c",
                help: "",
                kind: Kind::Counter,
                series: vec![Series { labels: vec![("shard", "1".into())], value: Value::Scalar(4.0) }],
            },
        ];
        let req = write_request(&families, &[("shard", "1"), ("job", "spacetime-drill")], 1000);
        assert_eq!(req.timeseries.len(), BOUNDS.len() + 1 + 2 + 1);
        for ts in &req.timeseries {
            assert!(ts.labels.windows(2).all(|w| w[0].name < w[1].name), "sorted and unique: {:?}", ts.labels);
        }
        let value_of = |name: &str, le: Option<&str>| {
            req.timeseries
                .iter()
                .find(|t| {
                    t.labels.iter().any(|l| l.name == "__name__" && l.value == name)
                        && le.is_none_or(|le| t.labels.iter().any(|l| l.name == "le" && l.value == le))
                })
                .map(|t| t.samples[0].value)
        };
        assert_eq!(value_of("h_seconds_bucket", Some("+Inf")), Some(4.0));
        assert_eq!(value_of("h_seconds_bucket", Some(&BOUNDS[9].to_string())), Some(0.0));
        assert_eq!(value_of("h_seconds_bucket", Some(&BOUNDS[10].to_string())), Some(3.0));
        assert_eq!(value_of("h_seconds_count", None), Some(4.0));
        assert_eq!(value_of("c_total", None), Some(4.0));
        let decoded = WriteRequest::decode(&*req.encode_to_vec()).unwrap();
        assert_eq!(decoded, req);
    }
}
