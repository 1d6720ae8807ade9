//! The connection to a NATS JetStream cluster shared by `nats-post` and
//! `nats-tail`: which servers, which credentials, which TLS settings.
//!
//! Servers come from `--servers URL,...`, else `$NATS_URL`, else
//! `nats://127.0.0.1:4222`. Secrets never come from argv: a credentials
//! file (`--creds FILE` or `$NATS_CREDS`, the `.creds` file `nsc` writes:
//! a user JWT and its NKey seed), a user and password (`$NATS_USER`,
//! `$NATS_PASSWORD`) or a token (`$NATS_TOKEN`). TLS is used for `tls://`
//! URLs or when the server requires it; `$NATS_CA` adds a CA file and
//! `$NATS_CERT`/`$NATS_KEY` a client certificate (mutual TLS).
//!
//! The client reconnects by itself, without a limit, and the first
//! connection is retried in the background too, so a tool started while
//! every server is down still starts (and spools, or waits).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

pub use async_nats;

/// Default server when neither `--servers` nor `$NATS_URL` is given.
pub const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

/// Everything needed to connect, validated.
#[derive(Debug, Clone)]
pub struct Conn {
    /// Server URLs, as given (shown in messages without credentials).
    pub servers: Vec<String>,
    creds: Option<PathBuf>,
    user: Option<(String, String)>,
    token: Option<String>,
    ca: Option<PathBuf>,
    client_cert: Option<(PathBuf, PathBuf)>,
    name: String,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// The connection flags of nats-post and nats-tail (the rest of the
/// settings come from the environment, see [`Conn::from_args`]).
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// NATS servers, comma-separated [default: $NATS_URL, else nats://127.0.0.1:4222].
    #[arg(long, value_name = "URL,...")]
    pub servers: Option<String>,

    /// Credentials file (user JWT and NKey seed, as `nsc` writes) [default: $NATS_CREDS].
    #[arg(long, value_name = "FILE")]
    pub creds: Option<PathBuf>,
}

impl ConnectArgs {
    /// The validated connection settings (`env` reads the environment).
    pub fn conn(self, tool: &str, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Conn> {
        Conn::from_args(tool, self.servers.as_deref(), self.creds, env)
    }
}

impl Conn {
    /// Validates the connection settings: `servers` from the flag (or
    /// `None`), `creds` from the flag, the rest from `env`.
    pub fn from_args(
        tool: &str,
        servers: Option<&str>,
        creds: Option<PathBuf>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Conn> {
        let list = non_empty(servers.map(str::to_owned))
            .or_else(|| non_empty(env("NATS_URL")))
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        let servers: Vec<String> = list
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        for s in &servers {
            let scheme_ok = ["nats://", "tls://", "ws://", "wss://"]
                .iter()
                .any(|p| s.starts_with(p))
                || !s.contains("://");
            if !scheme_ok {
                bail!(
                    "server URL {} is not nats://, tls://, ws:// or wss://",
                    shown(s)
                );
            }
            if s.contains('@') {
                bail!(
                    "server URL {} carries credentials; pass them in $NATS_USER/$NATS_PASSWORD, $NATS_TOKEN or a creds file, never on the command line",
                    shown(s)
                );
            }
            s.parse::<async_nats::ServerAddr>()
                .map_err(|e| anyhow::anyhow!("server URL {}: {e}", shown(s)))?;
        }
        if servers.is_empty() {
            bail!("no server URL given");
        }
        let creds = creds.or_else(|| non_empty(env("NATS_CREDS")).map(PathBuf::from));
        if let Some(c) = &creds {
            std::fs::metadata(c).with_context(|| format!("credentials file {}", c.display()))?;
        }
        let user = match (non_empty(env("NATS_USER")), env("NATS_PASSWORD")) {
            (Some(u), Some(p)) => Some((u, p)),
            (Some(_), None) => bail!("$NATS_USER is set but $NATS_PASSWORD is not"),
            _ => None,
        };
        let token = non_empty(env("NATS_TOKEN"));
        let ca = non_empty(env("NATS_CA")).map(PathBuf::from);
        let client_cert = match (non_empty(env("NATS_CERT")), non_empty(env("NATS_KEY"))) {
            (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
            (None, None) => None,
            _ => bail!("$NATS_CERT and $NATS_KEY go together (client certificate and its key)"),
        };
        for f in ca
            .iter()
            .chain(client_cert.iter().flat_map(|(c, k)| [c, k]))
        {
            std::fs::metadata(f).with_context(|| format!("TLS file {}", f.display()))?;
        }
        Ok(Conn {
            servers,
            creds,
            user,
            token,
            ca,
            client_cert,
            name: tool.to_owned(),
        })
    }

    /// The servers for messages: `nats://host:port,...`.
    pub fn shown(&self) -> String {
        self.servers.join(",")
    }

    /// Connects (in the background when no server answers yet).
    pub async fn connect(&self) -> anyhow::Result<async_nats::Client> {
        let mut o = match &self.creds {
            Some(c) => async_nats::ConnectOptions::with_credentials_file(c.clone())
                .await
                .with_context(|| format!("reading credentials file {}", c.display()))?,
            None => async_nats::ConnectOptions::new(),
        };
        if let Some((u, p)) = &self.user {
            o = o.user_and_password(u.clone(), p.clone());
        }
        if let Some(t) = &self.token {
            o = o.token(t.clone());
        }
        if let Some(ca) = &self.ca {
            o = o.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let Some((c, k)) = &self.client_cert {
            o = o
                .add_client_certificate(c.clone(), k.clone())
                .require_tls(true);
        }
        if self.servers.iter().any(|s| s.starts_with("tls://")) {
            o = o.require_tls(true);
        }
        let o = o
            .name(self.name.clone())
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(5))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((100 * attempts as u64).min(2000))
            })
            .event_callback(|_| async {});
        let addrs: Vec<async_nats::ServerAddr> = self
            .servers
            .iter()
            .map(|s| s.parse())
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("server URL: {e}"))?;
        o.connect(addrs)
            .await
            .with_context(|| format!("connecting to {}", self.shown()))
    }
}

/// A server URL for messages (without user information, should any be there).
pub fn shown(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(a)) if a > s => format!("{}{}", &url[..s + 3], &url[a + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn servers_from_flag_env_or_default() {
        let c = Conn::from_args("t", Some("nats://a:1, nats://b:2"), None, env(&[])).unwrap();
        assert_eq!(c.servers, ["nats://a:1", "nats://b:2"]);
        let c = Conn::from_args("t", None, None, env(&[("NATS_URL", "nats://e:3")])).unwrap();
        assert_eq!(c.servers, ["nats://e:3"]);
        let c = Conn::from_args("t", None, None, env(&[])).unwrap();
        assert_eq!(c.servers, [DEFAULT_URL]);
    }

    #[test]
    fn refuses_credentials_in_urls_and_half_settings() {
        let e = Conn::from_args("t", Some("nats://u:secret@a:1"), None, env(&[])).unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("never on the command line"), "{msg}");
        assert!(!msg.contains("secret"), "{msg}");
        assert!(Conn::from_args("t", Some("http://a:1"), None, env(&[])).is_err());
        assert!(Conn::from_args("t", None, None, env(&[("NATS_USER", "u")])).is_err());
        assert!(Conn::from_args("t", None, None, env(&[("NATS_CERT", "/x")])).is_err());
        let e =
            Conn::from_args("t", None, Some("/nonexistent/x.creds".into()), env(&[])).unwrap_err();
        assert!(format!("{e:#}").contains("/nonexistent/x.creds"));
    }

    #[test]
    fn shown_strips_user_info() {
        assert_eq!(shown("nats://u:p@h:1"), "nats://h:1");
        assert_eq!(shown("nats://h:1"), "nats://h:1");
    }
}
