//! Plain goose, as its own users write it, for `benches/loadgen.py` to set beside our users mode: one transaction
//! `GET /status`, goose's own metrics on (that is what a goose user pays for), nothing printed but one JSON line.
//!
//!     cargo run --release --example plain_goose -- http://127.0.0.1:8080 32 10
//!
//! (base URL, users, seconds; all users start at once and never think, like `bench-load --users`).

use goose::config::GooseConfiguration;
use goose::prelude::*;

async fn status(user: &mut GooseUser) -> TransactionResult {
    user.get("/status").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, users, seconds] = <[String; 3]>::try_from(args).map_err(|_| "usage: plain_goose URL USERS SECONDS")?;
    let mut c = GooseConfiguration::default();
    c.host = Some(host);
    c.users = Some(users.parse()?);
    c.increase_rate = Some(users);
    c.run_time = Some(format!("{seconds}s"));
    c.quiet = 1;
    c.no_print_metrics = true;
    c.no_telnet = true;
    c.no_reset_metrics = true;
    let started = std::time::Instant::now();
    let metrics = GooseAttack::initialize_with_config(c)?
        .register_scenario(scenario!("plain").register_transaction(transaction!(status)))
        .execute()
        .await?;
    let (mut requests, mut errors) = (0, 0);
    for m in metrics.requests.values() {
        requests += m.success_count + m.fail_count;
        errors += m.fail_count;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(r#"{{"requests":{requests},"errors":{errors},"seconds":{seconds}}}"#);
    Ok(())
}
