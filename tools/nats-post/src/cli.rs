//! Command-line flags and their validation into a [`Config`].
//!
//! Everything that can be wrong with the invocation (a bad server URL,
//! credentials on the command line, a subject template that cannot make a
//! valid subject) is caught before stdin is read or the network touched,
//! and ends the tool with exit 2.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::Parser;
use dlp_nats::{Conn, ConnectArgs};

use crate::subject::Template;

const LONG_ABOUT: &str = "\
Publish NDJSON records to a NATS JetStream stream: the fleet transport from every endpoint to the \
centre, the twin of webhook-post. Each record is one message on subject dlp.<type>.<host> (type: \
finding, fsevent, scan, delivery, action or record; host: the record's `host` field, else --host), \
so consumers can filter by machine or record type. A record without a `host` field gets one \
(--host), so every record that reaches the centre says where it came from.

Never loses: records are grouped into batches, each batch is written to an on-disk spool (one \
fsync per batch) before it is published, the publishes of a batch are pipelined, and the batch \
leaves the spool only once JetStream has acknowledged every record (stored on a majority of the \
stream's replicas); of a batch acknowledged in part, the spool keeps only the records that were \
not. Servers down at start, a node restarting, the network gone: batches wait in the spool, stdin \
keeps being read, and they are published in order when a server answers, also after a restart \
of nats-post. A record is spooled with the subject and message id it was given when read (it is \
parsed once), so a batch left in the spool keeps them on the next start. Every message carries a Nats-Msg-Id (a hash of the host and the \
record), so JetStream's duplicate window (--duplicate-window when the stream is created) drops a \
record sent again after a crash or a lost acknowledgement. Two identical lines from one host \
within the window count as one.

The stream (--stream, default DLP) is created when missing, with --replicas copies (3 on a \
3-node cluster), file storage and a subject filter made from the template (dlp.*.*); an existing \
stream is used as it is.

Writes one delivery record per batch to stdout:
  {\"status\":\"delivered\",\"records\":1000,\"duplicates\":0,\"stream\":\"DLP\",\"seq\":41000,\"attempts\":1,\"latency_ms\":9,...}
status is delivered, spooled (waiting for the cluster, or left in the spool at exit) or failed: \
records larger than the server's max_payload are set aside in SPOOL/dead-letter/BATCH.ndjson \
(stderr says how to re-feed them) and the rest is delivered.

Connection: --servers URL,... or $NATS_URL (default nats://127.0.0.1:4222). Credentials only from \
the environment or a file: --creds FILE or $NATS_CREDS (an nsc .creds file), $NATS_USER with \
$NATS_PASSWORD, or $NATS_TOKEN; TLS with tls:// URLs, $NATS_CA, $NATS_CERT and $NATS_KEY.

Exit status: 0 all acknowledged; 1 malformed input lines, records set aside, or batches still \
unacknowledged after --max-retry-time at end of input; 2 usage or configuration error (also a \
subject that another stream than --stream owns: what is not delivered stays in the spool); 130/143 stopped by \
SIGINT/SIGTERM (what is not acknowledged stays in the spool and is sent first on the next \
start).

Examples:
  fswatch-json ~/Documents | pii-scan | nats-post --servers nats://central:4222
  NATS_CREDS=/etc/dlp/endpoint.creds nats-post --servers tls://nats1:4222,tls://nats2:4222 < findings.ndjson
  nats-post --stream DLP --replicas 3 --subject 'dlp.{type}.{host}' < events.ndjson";

/// Flags as given.
#[derive(Debug, Parser)]
#[command(name = "nats-post", version, about = "Publish NDJSON records to a NATS JetStream stream, acknowledged, deduplicated, with a durable spool", long_about = LONG_ABOUT)]
pub struct Args {
    /// NDJSON files to read, in order (- or none: stdin).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Stream to publish to (created when missing).
    #[arg(long, value_name = "NAME", default_value = "DLP")]
    pub stream: String,

    /// Subject template: {type} is the record type, {host} the host.
    #[arg(long, value_name = "TEMPLATE", default_value = "dlp.{type}.{host}")]
    pub subject: String,

    /// Replicas of a stream this tool creates (1, 3 or 5 on a cluster).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub replicas: u8,

    /// Duplicate window of a stream this tool creates (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = dlp_runtime::units::secs)]
    pub duplicate_window: std::time::Duration,

    /// Host name for records without a `host` field [default: $DLP_HOST, else this machine's name].
    #[arg(long, value_name = "NAME", value_parser = dlp_record::host::check)]
    pub host: Option<String>,

    /// Records per batch (one spool write and one round of acknowledgements).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,

    /// Spool directory [default: $XDG_STATE_HOME/dlp-pipes/nats-post-STREAM].
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// Time to wait for one acknowledgement (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = dlp_runtime::units::secs)]
    pub timeout: std::time::Duration,

    /// At end of input, how long to keep trying to deliver the spool (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = dlp_runtime::units::secs)]
    pub max_retry_time: std::time::Duration,

    /// After SIGINT/SIGTERM, how long to go on delivering the spool (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = dlp_runtime::units::secs)]
    pub grace: std::time::Duration,

    /// Make a malformed input line fatal (exit 2) instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub conn: Conn,
    pub stream: String,
    pub template: Template,
    pub replicas: usize,
    pub duplicate_window: Duration,
    pub host: String,
    pub batch: usize,
    pub spool: PathBuf,
    pub timeout: Duration,
    pub max_retry_time: Duration,
    pub grace: Duration,
    pub strict: bool,
}

fn secs(name: &str, v: Duration) -> anyhow::Result<Duration> {
    if v > Duration::from_secs(10_000_000) {
        bail!("--{name} must be at most 10000000s (115 days)");
    }
    Ok(v)
}

/// A valid stream name: letters, digits, `-` and `_`.
pub fn check_stream_name(s: &str) -> anyhow::Result<()> {
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        bail!("stream name '{s}' must be letters, digits, '-' and '_'");
    }
    Ok(())
}

impl Args {
    /// Validates the flags; `env` reads the environment.
    pub fn into_config(self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let conn = self.connect.conn("nats-post", &env)?;
        check_stream_name(&self.stream)?;
        let template = Template::parse(&self.subject)?;
        if let Some(h) = &self.host {
            dlp_record::host::set(h);
        }
        let host = dlp_record::host::this().unwrap_or("unknown").to_owned();
        let timeout = secs("timeout", self.timeout)?;
        if timeout.is_zero() {
            bail!("--timeout must be more than 0");
        }
        let spool = self.spool.unwrap_or_else(|| {
            dlp_store::spool::default_state_dir(&format!("nats-post-{}", self.stream))
        });
        Ok(Config {
            conn,
            stream: self.stream,
            template,
            replicas: self.replicas as usize,
            duplicate_window: self.duplicate_window,
            host,
            batch: self.batch as usize,
            spool,
            timeout,
            max_retry_time: secs("max-retry-time", self.max_retry_time)?,
            grace: secs("grace", self.grace)?,
            strict: self.strict,
        })
    }
}
