//! The one check of a target URL, shared by `validate` (`[target] url`/`telemetry`), `run --target` and
//! `--telemetry`, and the parsed form every client (load engines, `/status` probe, telemetry) connects with.
//!
//! Why one place: a URL `validate` accepts must be one `run` can drive, so the rules live where the clients get
//! their host, port and scheme. The rules: scheme `http`/`https` (telemetry `ws`/`wss`); a host; a port 1-65535
//! (default 80/443); no `user:password@` (a credential in a URL ends up in logs and reports; the token comes only
//! from `token_env`/`token_file`); for the API no path, query or fragment, since the engines send the contract's
//! routes (`/status`, ...) from the root and would silently ignore a base path. A telemetry URL may carry a path and
//! query: the WebSocket handshake sends them as written.

use std::fmt;

/// Which URL: the HTTP API or the telemetry WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRole {
    /// The SpaceTime HTTP API (`[target] url`, `--target`): `http`/`https`, no path, since the engines send the
    /// contract's routes from the root.
    Api,
    /// The telemetry WebSocket (`[target] telemetry`, `--telemetry`): `ws`/`wss`, a path and query allowed.
    Telemetry,
    /// A Prometheus server the probe asks: plain HTTP (the probe's client speaks no TLS) and any path (a server
    /// behind a prefix).
    Prometheus,
    /// A remote-write endpoint: HTTP or HTTPS (the run's TLS options apply) and any path (`/api/v1/write`).
    RemoteWrite,
}

impl UrlRole {
    fn schemes(self) -> &'static [&'static str] {
        match self {
            UrlRole::Api => &["http", "https"],
            UrlRole::Telemetry => &["ws", "wss"],
            UrlRole::Prometheus => &["http"],
            UrlRole::RemoteWrite => &["http", "https"],
        }
    }

    fn example(self) -> &'static str {
        match self {
            UrlRole::Api => "https://staging.example:8080",
            UrlRole::Telemetry => "wss://staging.example:8081",
            UrlRole::Prometheus => "http://127.0.0.1:9090",
            UrlRole::RemoteWrite => "https://prometheus.example:9090/api/v1/write",
        }
    }
}

/// A checked target URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrl {
    /// `https` or `wss`: the connection is TLS.
    pub secure: bool,
    /// Without IPv6 brackets: what the TLS server name and DNS lookup take.
    pub host: String,
    pub(crate) port: u16,
    /// Path and query for a telemetry URL (`/` when none); always `/` for the API.
    pub path: String,
    /// The URL normalized, without a trailing `/` for the API (`https://host:8443`).
    pub text: String,
}

/// Why a URL was refused, and how to fix it; never quotes a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UrlError(pub String);

impl ServiceUrl {
    /// The URL if `role` accepts it; the error quotes it with any password masked and shows the form to write.
    pub fn parse(text: &str, role: UrlRole) -> Result<ServiceUrl, UrlError> {
        let schemes = role.schemes();
        let example = role.example();
        let shown = redacted(text);
        let url = url::Url::parse(text).map_err(|e| {
            let fix = match e {
                url::ParseError::InvalidPort => "the port must be a number 1-65535".to_owned(),
                url::ParseError::EmptyHost => "it names no host".to_owned(),
                other => other.to_string(),
            };
            UrlError(format!("\"{shown}\" is not a usable URL ({fix}); write it as {example}"))
        })?;
        let scheme = url.scheme();
        if !schemes.contains(&scheme) {
            let tail = if role == UrlRole::Api { "" } else { "[/path]" };
            let forms: Vec<String> = schemes.iter().map(|s| format!("{s}://host[:port]{tail}")).collect();
            return Err(UrlError(format!(
                "\"{shown}\": scheme \"{scheme}\" is not supported; the URL must be {}, e.g. {example}",
                forms.join(" or ")
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError(format!(
                "\"{shown}\" carries credentials (user:password@), which would end up in logs and reports; remove \
                 them and give the Bearer token with token_env or token_file"
            )));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(UrlError(format!("\"{shown}\" names no host; write it as {example}"))),
        };
        let port = url.port_or_known_default().unwrap_or(0);
        if port == 0 {
            return Err(UrlError(format!("\"{shown}\": port 0 is not a port; use 1-65535")));
        }
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        if role == UrlRole::Api && (path != "/" || url.fragment().is_some()) {
            let tail = &text[text.find(url.path()).unwrap_or(text.len())..];
            return Err(UrlError(format!(
                "\"{shown}\" has \"{tail}\" after the host, which the load engines would ignore (they send \
                 /status, /scene/load, ... from the root); remove it, e.g. {example}"
            )));
        }
        let mut text = url.to_string();
        if role == UrlRole::Api {
            text.truncate(text.trim_end_matches('/').len());
        }
        Ok(ServiceUrl { secure: matches!(scheme, "https" | "wss"), host, port, path, text })
    }

    /// On this machine (`localhost` or a loopback address), so its processes can be measured from here.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// `host:port` to connect to (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The URL with anything between `://` and `@` replaced, so an error never repeats a password.
fn redacted(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else { return text.to_owned() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(s: &str) -> Result<ServiceUrl, String> {
        ServiceUrl::parse(s, UrlRole::Api).map_err(|e| e.0)
    }

    #[test]
    fn accepted_urls_give_host_port_and_tls() {
        let u = api("https://staging.example:8443/").unwrap();
        assert!(u.secure);
        assert_eq!(
            (u.host.as_str(), u.port, u.text.as_str()),
            ("staging.example", 8443, "https://staging.example:8443")
        );
        assert_eq!(api("http://127.0.0.1").unwrap().port, 80);
        assert_eq!(api("https://127.0.0.1").unwrap().authority(), "127.0.0.1:443");
        assert_eq!(api("http://[::1]:9000").unwrap().authority(), "[::1]:9000");
        let ws = ServiceUrl::parse("wss://h:8081/telemetry?x=1", UrlRole::Telemetry).unwrap();
        assert!(ws.secure);
        assert_eq!(ws.path, "/telemetry?x=1");
        let rw = ServiceUrl::parse("https://prom:9090/api/v1/write", UrlRole::RemoteWrite).unwrap();
        assert!(rw.secure && rw.path == "/api/v1/write" && rw.authority() == "prom:9090", "{rw:?}");
        // The probe's client speaks no TLS, so its server stays http.
        assert!(ServiceUrl::parse("https://prom:9090", UrlRole::Prometheus).unwrap_err().0.contains("\"https\""));
    }

    #[test]
    fn refusals_say_why_and_never_echo_a_password() {
        let e = api("https://user:hunter2@staging.example:8080").unwrap_err();
        assert!(e.contains("credentials") && e.contains("token_env") && !e.contains("hunter2"), "{e}");
        assert!(api("http://h:0").unwrap_err().contains("port 0 is not a port"));
        assert!(api("http://h:65536").unwrap_err().contains("1-65535"));
        assert!(
            api("ftp://h:21")
                .unwrap_err()
                .contains("scheme \"ftp\" is not supported; the URL must be http://host[:port] or")
        );
        assert!(api("ws://h:21").unwrap_err().contains("scheme \"ws\""));
        let e = api("https://h:8080/api/v1").unwrap_err();
        assert!(e.contains("\"/api/v1\" after the host"), "{e}");
        assert!(api("https://h:8080/?x=1").unwrap_err().contains("after the host"));
        assert!(api("h:8080").is_err());
        assert!(
            ServiceUrl::parse("https://h:1", UrlRole::Telemetry)
                .unwrap_err()
                .0
                .contains("must be ws://host[:port][/path] or wss://")
        );
    }
}
