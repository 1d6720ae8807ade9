//! Command-line flags and their validation into a [`Config`].

use std::time::Duration;

use anyhow::bail;
use clap::Parser;
use dlp_nats::{Conn, ConnectArgs};

const LONG_ABOUT: &str = "\
Read a NATS JetStream stream as NDJSON on stdout: the centre's end of the fleet transport (the \
twin of nats-post). Each message payload is written as one line.

At least once, never lost: messages come through a pull consumer with explicit acknowledgement, \
and a message is acknowledged only after its line has been written and stdout flushed. A kill -9 \
at any point loses nothing: what was not acknowledged is delivered again --ack-wait seconds later \
(to this or another instance). What can be written twice after a crash is bounded by the ack \
window: at most one pull batch (--batch) per killed instance, the lines written but not yet \
acknowledged.

With --durable NAME the consumer is durable: the stream remembers how far it was read, a restart \
goes on from there, and several nats-tail with the same name share the messages (each message \
goes to one of them). Without it the consumer is ephemeral (reads from now on, or from the start \
with --from-beginning, and is forgotten). --from-beginning, --filter, --ack-wait and \
--max-ack-pending apply when the durable consumer is created; an existing one keeps its settings.

Connection: --servers URL,... or $NATS_URL (default nats://127.0.0.1:4222). Credentials only from \
the environment or a file: --creds FILE or $NATS_CREDS, $NATS_USER with $NATS_PASSWORD, or \
$NATS_TOKEN; TLS with tls:// URLs, $NATS_CA, $NATS_CERT and $NATS_KEY.

Exit status: 0 ok (stdout closed, or --exit-at-end reached the end); 1 messages that were not \
one JSON object (reported, acknowledged as terminated, not written); 2 usage, configuration or \
fatal error; 130/143 stopped by SIGINT/SIGTERM.

Examples:
  nats-tail --durable central | findings-csv >> central.csv
  nats-tail --durable report --from-beginning --exit-at-end | findings-report > /var/www/dlp/index.html
  nats-tail --filter 'dlp.finding.web-01' --from-beginning --exit-at-end | jq .path";

/// Flags as given.
#[derive(Debug, Parser)]
#[command(name = "nats-tail", version, about = "Read a NATS JetStream stream as NDJSON through a durable consumer, acknowledging only what is written", long_about = LONG_ABOUT)]
pub struct Args {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Stream to read.
    #[arg(long, value_name = "NAME", default_value = "DLP")]
    pub stream: String,

    /// Durable consumer name (instances with one name share the messages).
    #[arg(long, value_name = "NAME")]
    pub durable: Option<String>,

    /// Only messages on this subject (wildcards * and > allowed).
    #[arg(long, value_name = "SUBJECT")]
    pub filter: Option<String>,

    /// Start from the first message in the stream (default: new messages only).
    #[arg(long)]
    pub from_beginning: bool,

    /// Exit once every message available at the time has been written.
    #[arg(long)]
    pub exit_at_end: bool,

    /// Messages per pull request (and most written twice after a crash).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,

    /// Time before an unacknowledged message is delivered again (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = dlp_runtime::units::secs)]
    pub ack_wait: std::time::Duration,

    /// Most messages delivered and not yet acknowledged, for all instances.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_ack_pending: u32,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub conn: Conn,
    pub stream: String,
    pub durable: Option<String>,
    pub filter: Option<String>,
    pub from_beginning: bool,
    pub exit_at_end: bool,
    pub batch: usize,
    pub ack_wait: Duration,
    pub max_ack_pending: i64,
}

fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Args {
    /// Validates the flags; `env` reads the environment.
    pub fn into_config(self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let conn = self.connect.conn("nats-tail", &env)?;
        if !name_ok(&self.stream) {
            bail!(
                "stream name '{}' must be letters, digits, '-' and '_'",
                self.stream
            );
        }
        if let Some(d) = &self.durable {
            if !name_ok(d) {
                bail!("durable name '{d}' must be letters, digits, '-' and '_'");
            }
        }
        if let Some(f) = &self.filter {
            let ok = !f.is_empty()
                && f.split('.').enumerate().all(|(i, t)| {
                    !t.is_empty()
                        && !t.bytes().any(|b| b.is_ascii_whitespace())
                        && (t != ">" || i == f.split('.').count() - 1)
                });
            if !ok {
                bail!("--filter '{f}' is not a NATS subject (tokens separated by '.', '*' for one token, '>' at the end for the rest)");
            }
        }
        if self.ack_wait < Duration::from_millis(100) || self.ack_wait > Duration::from_secs(86_400)
        {
            bail!("--ack-wait must be between 100ms and 1d");
        }
        Ok(Config {
            conn,
            stream: self.stream,
            durable: self.durable,
            filter: self.filter,
            from_beginning: self.from_beginning,
            exit_at_end: self.exit_at_end,
            batch: self.batch as usize,
            ack_wait: self.ack_wait,
            max_ack_pending: self.max_ack_pending as i64,
        })
    }
}
