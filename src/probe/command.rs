//! A configured shell command whose output is one number: how a remote target's memory or disk is watched
//! (e.g. `ssh host "df --output=pcent /data"`).

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Run `sh -c command` for at most `timeout` and parse its output as a number.
///
/// The number is the last whitespace-separated word of stdout, with a trailing `%` dropped, so `df`'s
/// `Use%\n 85%` and a bare `123.5` both work. The command runs in its own process group, killed whole on timeout:
/// a hung `ssh` must not outlive the tick that started it.
pub async fn number(command: &str, timeout: Duration) -> Result<f64, String> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    let pgid = child.id().and_then(|id| i32::try_from(id).ok()).map(Pid::from_raw);
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => out.map_err(|e| format!("waiting for the command: {e}"))?,
        Err(_) => {
            if let Some(pgid) = pgid {
                let _ = killpg(pgid, Signal::SIGKILL);
            }
            return Err(format!("no answer within {timeout:?}"));
        }
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{}: {}", out.status, stderr.trim().chars().take(200).collect::<String>()));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let word = stdout.split_whitespace().last().unwrap_or_default();
    word.trim_end_matches('%').parse::<f64>().map_err(|_| format!("output is not a number: {:?}", stdout.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn parses_numbers_and_reports_failures() {
        assert_eq!(number("echo 123.5", T).await, Ok(123.5));
        assert_eq!(number("printf 'Use%%\\n 85%%\\n'", T).await, Ok(85.0));
        assert!(number("echo lots", T).await.unwrap_err().contains("not a number"));
        assert!(number("exit 3", T).await.is_err());
        let slow = number("sleep 5", Duration::from_millis(100)).await;
        assert!(slow.unwrap_err().contains("no answer"));
    }
}
