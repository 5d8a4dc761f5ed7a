//! Reports (issue 6): every format rendered from real and judged reports, JUnit parsed back, the HTML opened in
//! headless Chromium, baselines compared and shard reports merged exactly.

mod bounds;
mod charts_html;
mod compare;
mod fixture;
mod formats;
mod merge;
mod outcome;
mod postmortem;
mod schema;
mod shards;
mod versions;
