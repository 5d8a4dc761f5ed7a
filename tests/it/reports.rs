//! Reports (issue 6): every format rendered from real and judged reports, JUnit parsed back, the HTML opened in
//! headless Chromium, baselines compared, shard reports merged exactly, and the Kubernetes manifests kept valid.

mod charts_html;
mod compare;
mod fixture;
mod formats;
mod kube;
mod merge;
mod outcome;
mod postmortem;
mod schema;
mod shards;
mod versions;
