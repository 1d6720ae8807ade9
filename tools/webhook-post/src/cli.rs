//! Command-line flags and their validation into a [`Config`].
//!
//! Everything that can be wrong with the invocation (no URL, a bad header,
//! a missing secret or header variable, a template that cannot produce
//! JSON) is caught here, before stdin is read or the network touched, and
//! ends the tool with exit 2. Secrets are read from the environment only
//! and never printed; the URL is shown redacted (see [`redact_url`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};

use crate::render::{Format, Renderer};
use crate::template::Template;

/// Environment variable holding the webhook URL (the FIM article's name).
pub const URL_ENV: &str = "WATCH_WEBHOOK_URL";
/// Environment variable holding the signing secret for `--sign`.
pub const SECRET_ENV: &str = "WEBHOOK_SIGNING_SECRET";

const LONG_ABOUT: &str = "\
POST NDJSON records (file-integrity events, findings, anything) to a webhook: Slack, another chat \
tool or any HTTP endpoint. Never floods: --batch and --flush-after group records into one POST, \
--max-per-minute turns the excess into one summary message a minute. Never loses: every batch is \
written to an on-disk spool before it is sent and removed only after a 2xx; 408, 429 (Retry-After \
honoured), 5xx, time-outs and connection errors are retried with back-off while stdin keeps being \
read; pending batches are delivered first, in order, after a restart. A 413 splits the batch in \
halves, down to single records. A 307/308 to the same origin (scheme, host, port) is followed \
with the same POST (each POST starts at --url again); any other redirect is never followed. A \
batch that cannot be delivered (other 4xx, an unfollowed redirect, a single record still too \
large, or failing for longer than --dead-letter-after) is moved, as its NDJSON records, to \
<spool>/dead-letter/<key>.ndjson, logged with the status and the start of the body, reported as a \
`failed` record with `dead_letter` set, exit 1. Nothing is dropped. To re-feed it once the cause \
is fixed (another --spool, as the running instance holds its own):
  cd <spool>/dead-letter && cat *.ndjson | webhook-post --url URL --spool <spool>-refeed && rm *.ndjson

Delivery is at least once: a batch whose 2xx was lost with a crash is sent again on restart. \
Spooled batches go to the URL of the run that delivers them; one spool serves one instance at a \
time (a lock), so give each instance its own --spool.

Writes one delivery record per batch outcome to stdout:
  {\"status\":\"delivered\",\"records\":100,\"http_status\":200,\"attempts\":1,\"latency_ms\":3,...}
status is delivered, failed (moved to the dead-letter directory), split (a 413 batch split in \
two), spooled (waiting for the endpoint, or left in the spool at exit) or summary (records \
condensed into a --max-per-minute summary message).

The URL comes from --url or $WATCH_WEBHOOK_URL and is logged without its path and query (which may \
carry a token). --sign adds X-Webhook-Timestamp and X-Webhook-Signature = hex(HMAC-SHA256(secret, \
\"<timestamp>:<body>\")) with the secret from $WEBHOOK_SIGNING_SECRET: Nightfall's scheme; \
--signature-header-prefix X-Nightfall gives Nightfall's header names.

Templates: {FIELD} is a top-level field of the record (strings as they are, other values as \
compact JSON; missing fields are empty), {path} the file the record is about (dest_path, \
src_path or path), {json} the whole record, {summary} the one-line Slack-style summary, \
{lines} the summaries of the whole batch (one per line; makes the template one message per \
batch) and {count} the number of records in the batch. A template that starts with a literal { \
or [ is JSON: a placeholder inside a quoted string is inserted JSON-escaped (\"{path}\"), one \
outside quotes as a JSON value (strings quoted, missing fields null, {json} the whole record), \
and the template is checked at start-up to render valid JSON.

Exit status: 0 all delivered (or stdout closed: whatever is not delivered stays in the spool); \
1 malformed input lines, permanently failed batches, or batches still undelivered after \
--max-retry-time at end of input; 2 usage or configuration error; 130/143 stopped by \
SIGINT/SIGTERM (what is not delivered stays in the spool).

Examples:
  fswatch-json --hash /srv/user_pii | webhook-post --url \"$WATCH_WEBHOOK_URL\"
  fswatch-json --hash /srv/user_pii | webhook-post --format slack --batch 20 --max-per-minute 30
  pii-scan ~/Documents | webhook-post --template '{\"content\":\"{lines}\"}'   # Discord
  WEBHOOK_SIGNING_SECRET=... webhook-post --sign --signature-header-prefix X-Nightfall --url https://siem/ingest
  API_TOKEN=... webhook-post --header-env Authorization=API_TOKEN --url https://alerts.example/hook";

/// Message shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// The record as it is (a JSON array of records with --batch > 1).
    Raw,
    /// Slack incoming webhook: {"text": one readable line per record}.
    Slack,
}

/// Flags as given.
#[derive(Debug, Parser)]
#[command(name = "webhook-post", version, about = "POST NDJSON records to a webhook with batching, rate limiting, retries and a durable spool", long_about = LONG_ABOUT)]
pub struct Args {
    /// NDJSON files to read, in order (- or none: stdin).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Webhook URL [default: $WATCH_WEBHOOK_URL].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Message shape.
    #[arg(long, value_enum, default_value = "raw")]
    pub format: FormatArg,

    /// Message template for other chat tools (see the long help); overrides --format.
    #[arg(long, value_name = "STR")]
    pub template: Option<String>,

    /// Content-Type of the POST [default: application/json, text/plain for a non-JSON template].
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,

    /// Records per POST at most.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,

    /// Send a partial batch once its first record is this old (e.g. 500ms, 2s; bare number: milliseconds).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = dlp_runtime::units::millis)]
    pub flush_after: std::time::Duration,

    /// Post at most N records a minute; the rest become one summary message per minute.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_per_minute: Option<u64>,

    /// Spool directory for batches awaiting delivery [default: $XDG_STATE_HOME/dlp-pipes/webhook-post].
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// At end of input, keep retrying for at most this long; the rest stays in the spool (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = dlp_runtime::units::secs)]
    pub max_retry_time: std::time::Duration,

    /// Longest wait between two retries (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = dlp_runtime::units::secs)]
    pub max_backoff: std::time::Duration,

    /// On SIGINT/SIGTERM, let delivery go on for at most this long (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = dlp_runtime::units::secs)]
    pub grace: std::time::Duration,

    /// Overall time-out of one POST; connecting is limited to 10 s (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = dlp_runtime::units::secs)]
    pub timeout: std::time::Duration,

    /// Extra header 'Name: value' (repeatable). Put tokens in --header-env instead.
    #[arg(long = "header", value_name = "'K: V'")]
    pub headers: Vec<String>,

    /// Extra header NAME whose value is read from environment variable ENVVAR (repeatable).
    #[arg(long = "header-env", value_name = "NAME=ENVVAR")]
    pub header_env: Vec<String>,

    /// Sign each POST with $WEBHOOK_SIGNING_SECRET (Nightfall's HMAC-SHA256 scheme).
    #[arg(long)]
    pub sign: bool,

    /// Prefix of the two signature headers (-Timestamp, -Signature); X-Nightfall for nf-webhook receivers.
    #[arg(long, value_name = "PREFIX", default_value = "X-Webhook")]
    pub signature_header_prefix: String,

    /// Move a batch still failing this long after it was spooled to <spool>/dead-letter (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "1d", value_parser = dlp_runtime::units::secs)]
    pub dead_letter_after: std::time::Duration,

    /// A malformed input line is fatal (exit 2) instead of reported and skipped.
    #[arg(long)]
    pub strict: bool,
}

/// Request signing settings.
#[derive(Clone)]
pub struct Signer {
    pub secret: Vec<u8>,
    pub timestamp_header: String,
    pub signature_header: String,
}

/// Validated settings.
pub struct Config {
    pub url: String,
    pub shown_url: String,
    pub renderer: Renderer,
    /// `raw` format: bodies are the record bytes (built without parsing).
    pub raw: bool,
    pub content_type: String,
    pub batch: usize,
    pub flush_after: Duration,
    pub max_per_minute: Option<u64>,
    pub spool: PathBuf,
    pub max_retry_time: Duration,
    pub max_backoff: Duration,
    pub grace: Duration,
    pub timeout: Duration,
    pub dead_letter_after: Duration,
    pub headers: Vec<(String, String)>,
    pub signer: Option<Signer>,
    pub strict: bool,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn check_header(name: &str, value: &str) -> anyhow::Result<()> {
    if !is_token(name) {
        bail!("invalid header name {name:?}");
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        bail!("header {name}: the value must not contain line breaks");
    }
    Ok(())
}

/// The URL without user info, path or query (which may carry tokens),
/// for log messages: `https://hooks.slack.com/…`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let more = rest.len() > authority.len() && &rest[authority.len()..] != "/";
    format!("{scheme}://{host}{}", if more { "/…" } else { "" })
}

impl Args {
    /// Validates the flags and reads what they name from the environment.
    pub fn into_config(self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let url = match self
            .url
            .clone()
            .or_else(|| env(URL_ENV))
            .filter(|u| !u.trim().is_empty())
        {
            Some(u) => u.trim().to_owned(),
            None => bail!("no webhook URL: give --url or set {URL_ENV}"),
        };
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://"))
            || url.len() <= "http://".len()
        {
            bail!(
                "the webhook URL {} must start with http:// or https://",
                redact_url(&url)
            );
        }
        let mut headers = Vec::new();
        for h in &self.headers {
            let Some((k, v)) = h.split_once(':') else {
                bail!("--header {h:?}: expected 'Name: value'");
            };
            check_header(k.trim(), v.trim())?;
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        for h in &self.header_env {
            let Some((k, var)) = h.split_once('=') else {
                bail!("--header-env {h:?}: expected NAME=ENVVAR");
            };
            let Some(v) = env(var.trim()).filter(|v| !v.is_empty()) else {
                bail!(
                    "--header-env {}: environment variable {} is not set",
                    k.trim(),
                    var.trim()
                );
            };
            check_header(k.trim(), v.trim()).with_context(|| format!("value of {}", var.trim()))?;
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let signer = if self.sign {
            let Some(secret) = env(SECRET_ENV).filter(|s| !s.is_empty()) else {
                bail!("--sign needs the signing secret in the environment variable {SECRET_ENV}");
            };
            let p = self.signature_header_prefix.trim_end_matches('-');
            check_header(&format!("{p}-Timestamp"), "")?;
            Some(Signer {
                secret: secret.into_bytes(),
                timestamp_header: format!("{p}-Timestamp"),
                signature_header: format!("{p}-Signature"),
            })
        } else {
            None
        };
        let batch = self.batch as usize;
        let format = match &self.template {
            Some(t) => Format::Template(Template::parse(t)?),
            None => match self.format {
                FormatArg::Raw => Format::Raw,
                FormatArg::Slack => Format::Slack,
            },
        };
        let raw = matches!(format, Format::Raw);
        let renderer = Renderer::new(format, batch > 1);
        // A Content-Type given as --header replaces the default instead of doubling it.
        let header_ct = headers
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        let header_ct = header_ct.map(|i| headers.remove(i).1);
        let content_type = match self.content_type.or(header_ct) {
            Some(c) => {
                check_header("Content-Type", &c)?;
                c
            }
            None => renderer.default_content_type().to_owned(),
        };
        Ok(Config {
            shown_url: redact_url(&url),
            url,
            renderer,
            raw,
            content_type,
            batch,
            flush_after: self.flush_after,
            max_per_minute: self.max_per_minute,
            spool: self
                .spool
                .unwrap_or_else(|| dlp_store::spool::default_state_dir("webhook-post")),
            max_retry_time: self.max_retry_time,
            max_backoff: self.max_backoff.max(Duration::from_millis(10)),
            grace: self.grace,
            timeout: self.timeout.max(Duration::from_millis(100)),
            dead_letter_after: self.dead_letter_after,
            headers,
            signer,
            strict: self.strict,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_tokens_in_urls() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/XYZ"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            redact_url("http://user:pw@127.0.0.1:8080/x?token=1"),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(redact_url("http://h?t=1"), "http://h/…");
    }

    fn parse(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Config> {
        let a = Args::try_parse_from(std::iter::once("webhook-post").chain(args.iter().copied()))?;
        a.into_config(|k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn validates_url_headers_and_secret() {
        assert!(parse(&[], &[]).is_err());
        assert_eq!(
            parse(&[], &[(URL_ENV, "http://x/y")]).unwrap().url,
            "http://x/y"
        );
        assert!(parse(&["--url", "ftp://x"], &[]).is_err());
        assert!(parse(&["--url", "http://x", "--header", "bad header"], &[]).is_err());
        let c = parse(
            &[
                "--url",
                "http://x",
                "--header",
                "A: b",
                "--header-env",
                "Authorization=TOK",
            ],
            &[("TOK", "Bearer t")],
        )
        .unwrap();
        assert_eq!(
            c.headers,
            vec![
                ("A".into(), "b".into()),
                ("Authorization".into(), "Bearer t".into())
            ]
        );
        assert!(parse(
            &["--url", "http://x", "--header-env", "Authorization=TOK"],
            &[]
        )
        .is_err());
        assert!(parse(&["--url", "http://x", "--sign"], &[]).is_err());
        let c = parse(
            &[
                "--url",
                "http://x",
                "--sign",
                "--signature-header-prefix",
                "X-Nightfall",
            ],
            &[(SECRET_ENV, "s")],
        )
        .unwrap();
        assert_eq!(c.signer.unwrap().signature_header, "X-Nightfall-Signature");
        let c = parse(
            &["--url", "http://x", "--header", "content-type: text/x"],
            &[],
        )
        .unwrap();
        assert_eq!((c.content_type.as_str(), c.headers.len()), ("text/x", 0));
    }
}
