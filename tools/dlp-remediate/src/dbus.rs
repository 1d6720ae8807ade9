//! A minimal D-Bus client: enough to send a freedesktop desktop
//! notification (`org.freedesktop.Notifications.Notify`) on a session bus.
//!
//! The D-Bus crates (zbus, dbus) bring an async runtime or libdbus for what
//! is here one method call, so this module speaks the wire protocol itself:
//! a Unix socket (`unix:path=` or, on Linux, `unix:abstract=`), the
//! `EXTERNAL` authentication, `Hello`, and little-endian messages with the
//! marshalling rules of the D-Bus specification (strings, u32/i32, arrays,
//! dict entries, variants; each value aligned to its size). The bus daemon
//! validates every message and disconnects a client that sends a malformed
//! one, so a wrong byte here is an error, not a silent misdelivery.
//! The peer may be hostile (a user's own bus, or any program listening on
//! the socket), so the client is bounded: one deadline for the whole
//! conversation, set by the caller, bounds every read and write; the
//! authentication reply is at most [`MAX_AUTH_LINE`] bytes, a message at
//! most [`MAX_MESSAGE`], all that is read at most [`MAX_READ`], and at most
//! [`MAX_SKIPPED`] other messages (signals) are passed over while waiting
//! for a reply. Beyond any of these it gives up with an error saying which.
//!
//! It also has what a test needs to play the notification server
//! ([`Bus::peer`], [`Bus::recv`], [`Bus::reply`], [`Reader`]).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// The longest authentication reply line accepted.
pub const MAX_AUTH_LINE: usize = 512;
/// The largest message accepted (header and body).
pub const MAX_MESSAGE: usize = 1 << 20;
/// All a connection may read.
pub const MAX_READ: usize = 8 << 20;
/// Messages passed over while waiting for a method's reply.
pub const MAX_SKIPPED: usize = 1024;

const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;

/// A marshalled message body (or header) under construction; alignment is
/// relative to its start, which the wire format places at a multiple of 8.
#[derive(Debug, Default, Clone)]
pub struct Body {
    pub buf: Vec<u8>,
}

impl Body {
    fn pad(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }
    pub fn byte(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.u32(v as u32)
    }
    /// A string or object path.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self
    }
    /// A type signature.
    pub fn sig(&mut self, s: &str) -> &mut Self {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self
    }
    /// An array whose elements align to `align`, filled by `f`.
    pub fn array(&mut self, align: usize, f: impl FnOnce(&mut Self)) -> &mut Self {
        self.u32(0);
        let len_at = self.buf.len() - 4;
        self.pad(align);
        let start = self.buf.len();
        f(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
        self
    }
}

/// A received message (only the header fields this module uses).
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub kind: u8,
    pub serial: u32,
    pub reply_serial: Option<u32>,
    pub path: String,
    pub interface: String,
    pub member: String,
    pub error_name: String,
    pub sender: String,
    pub signature: String,
    pub body: Vec<u8>,
}

/// Reads values out of a little-endian body, with the marshalling alignment.
pub struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Reader { b, pos: 0 }
    }
    fn bad() -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, "malformed D-Bus message")
    }
    fn align(&mut self, n: usize) {
        self.pos = self.pos.div_ceil(n) * n;
    }
    pub fn u8(&mut self) -> io::Result<u8> {
        let v = *self.b.get(self.pos).ok_or_else(Self::bad)?;
        self.pos += 1;
        Ok(v)
    }
    pub fn u32(&mut self) -> io::Result<u32> {
        self.align(4);
        let s = self.b.get(self.pos..self.pos + 4).ok_or_else(Self::bad)?;
        self.pos += 4;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn bytes(&mut self, n: usize) -> io::Result<String> {
        let s = self.b.get(self.pos..self.pos + n).ok_or_else(Self::bad)?;
        self.pos += n + 1; // and the terminating NUL
        Ok(String::from_utf8_lossy(s).into_owned())
    }
    /// A string or object path.
    pub fn str(&mut self) -> io::Result<String> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }
    /// A type signature.
    pub fn sig(&mut self) -> io::Result<String> {
        let n = usize::from(self.u8()?);
        self.bytes(n)
    }
}

/// A connection to a message bus.
pub struct Bus {
    stream: BufReader<UnixStream>,
    serial: u32,
    /// The unique name the bus gave us (`:1.42`).
    pub name: String,
    timeout: Duration,
    deadline: Instant,
    read: usize,
}

/// A duration as people write it: `10s`, `1.5s`.
pub fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

impl Bus {
    /// Connects to a bus address (`unix:path=...` or `unix:abstract=...`;
    /// alternatives separated by `;`), authenticates and says Hello; the
    /// whole conversation, what follows included, must end within `timeout`.
    pub fn connect(address: &str, timeout: Duration) -> io::Result<Bus> {
        let mut last = io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no usable unix: transport in bus address {address:?}"),
        );
        for alt in address.split(';').filter(|a| !a.is_empty()) {
            match connect_one(alt) {
                Ok(Some(s)) => {
                    let mut bus = Bus::peer(s, timeout);
                    bus.auth()?;
                    let reply = bus.call(
                        "org.freedesktop.DBus",
                        "/org/freedesktop/DBus",
                        "org.freedesktop.DBus",
                        "Hello",
                        "",
                        &Body::default(),
                    )?;
                    bus.name = Reader::new(&reply.body).str()?;
                    return Ok(bus);
                }
                Ok(None) => {}
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// A connection already made and authenticated (a test playing the bus
    /// uses this for the server's side), with the same bounds.
    pub fn peer(stream: UnixStream, timeout: Duration) -> Bus {
        Bus {
            stream: BufReader::new(stream),
            serial: 0,
            name: String::new(),
            timeout,
            deadline: Instant::now() + timeout,
            read: 0,
        }
    }

    /// Time left before the deadline, set as the socket's timeouts.
    fn arm(&mut self) -> io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.timed_out());
        }
        let s = self.stream.get_ref();
        s.set_read_timeout(Some(left))?;
        s.set_write_timeout(Some(left))
    }

    fn timed_out(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer from the bus within {}", secs(self.timeout)),
        )
    }

    /// A read or write error, with a timeout said as such.
    fn io(&self, e: io::Error) -> io::Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.timed_out(),
            _ => e,
        }
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.read += buf.len();
        if self.read > MAX_READ {
            return Err(too_much(format!("the bus sent more than {MAX_READ} bytes")));
        }
        self.arm()?;
        self.stream.read_exact(buf).map_err(|e| self.io(e))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.arm()?;
        self.stream.get_mut().write_all(buf).map_err(|e| self.io(e))
    }

    /// One line of the authentication exchange, at most [`MAX_AUTH_LINE`] bytes.
    fn auth_line(&mut self) -> io::Result<String> {
        let mut line = Vec::new();
        loop {
            self.arm()?;
            let timed_out = self.timed_out();
            let buf = match self.stream.fill_buf() {
                Ok(b) => b,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(timed_out)
                }
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the bus closed the connection during authentication",
                ));
            }
            let (n, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            line.extend_from_slice(&buf[..n]);
            self.stream.consume(n);
            if line.len() > MAX_AUTH_LINE {
                return Err(too_much(format!(
                    "the bus's authentication reply is longer than {MAX_AUTH_LINE} bytes"
                )));
            }
            if done {
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
        }
    }

    fn auth(&mut self) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        // Our effective uid: the owner of /proc/self (no libc call needed).
        let uid = std::fs::metadata("/proc/self")?.uid();
        let hex: String = uid
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())?;
        let line = self.auth_line()?;
        if !line.starts_with("OK ") {
            let shown: String = line.trim_end().chars().take(80).collect();
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("bus refused authentication: {shown}"),
            ));
        }
        self.write_all(b"BEGIN\r\n")
    }

    fn send(
        &mut self,
        kind: u8,
        fields: &[(u8, &str, &str)],
        reply_to: Option<u32>,
        sig: &str,
        body: &Body,
    ) -> io::Result<u32> {
        self.serial += 1;
        let mut h = Body::default();
        h.byte(b'l').byte(kind).byte(0).byte(1);
        h.u32(body.buf.len() as u32).u32(self.serial);
        h.array(8, |h| {
            for &(code, ty, v) in fields {
                h.pad(8);
                h.byte(code).sig(ty);
                if ty == "g" {
                    h.sig(v);
                } else {
                    h.str(v);
                }
            }
            if let Some(r) = reply_to {
                h.pad(8);
                h.byte(5).sig("u").u32(r);
            }
            if !sig.is_empty() {
                h.pad(8);
                h.byte(8).sig("g").sig(sig);
            }
        });
        h.pad(8);
        h.buf.extend_from_slice(&body.buf);
        self.write_all(&h.buf)?;
        Ok(self.serial)
    }

    /// Calls a method and waits for its return; a D-Bus error becomes an
    /// `io::Error` carrying the error name and message.
    pub fn call(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        sig: &str,
        body: &Body,
    ) -> io::Result<Message> {
        let serial = self.send(
            METHOD_CALL,
            &[
                (1, "o", path),
                (2, "s", iface),
                (3, "s", member),
                (6, "s", dest),
            ],
            None,
            sig,
            body,
        )?;
        for _ in 0..=MAX_SKIPPED {
            let m = self.recv()?;
            if m.reply_serial != Some(serial) {
                continue; // a signal such as NameAcquired
            }
            return match m.kind {
                METHOD_RETURN => Ok(m),
                ERROR => {
                    let text = Reader::new(&m.body).str().unwrap_or_default();
                    Err(io::Error::other(format!("{}: {text}", m.error_name)))
                }
                _ => continue,
            };
        }
        Err(too_much(format!(
            "the bus sent {MAX_SKIPPED} messages without answering {member}"
        )))
    }

    /// Answers a method call with a return value.
    pub fn reply(&mut self, to: &Message, sig: &str, body: &Body) -> io::Result<()> {
        let sender = to.sender.clone();
        self.send(
            METHOD_RETURN,
            &[(6, "s", &sender)],
            Some(to.serial),
            sig,
            body,
        )?;
        Ok(())
    }

    /// Receives the next message.
    pub fn recv(&mut self) -> io::Result<Message> {
        let mut fixed = [0u8; 16];
        self.read_exact(&mut fixed)?;
        if fixed[0] != b'l' {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "big-endian D-Bus messages are not supported",
            ));
        }
        let le = |i: usize| {
            u32::from_le_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]) as usize
        };
        let (body_len, fields_len) = (le(4), le(12));
        if body_len.saturating_add(fields_len) > MAX_MESSAGE {
            return Err(too_much(format!(
                "the bus sent a message larger than {MAX_MESSAGE} bytes"
            )));
        }
        let header_len = (16 + fields_len).div_ceil(8) * 8;
        let mut rest = vec![0u8; header_len - 16 + body_len];
        self.read_exact(&mut rest)?;
        let mut all = fixed.to_vec();
        all.extend_from_slice(&rest);
        let mut m = Message {
            kind: fixed[1],
            serial: le(8) as u32,
            body: all[header_len..].to_vec(),
            ..Message::default()
        };
        let mut r = Reader::new(&all[..16 + fields_len]);
        r.pos = 16;
        while r.pos < 16 + fields_len {
            r.align(8);
            let code = r.u8()?;
            let ty = r.sig()?;
            match ty.as_str() {
                "u" => {
                    let v = r.u32()?;
                    if code == 5 {
                        m.reply_serial = Some(v);
                    }
                }
                "g" => {
                    let v = r.sig()?;
                    if code == 8 {
                        m.signature = v;
                    }
                }
                "s" | "o" => {
                    let v = r.str()?;
                    match code {
                        1 => m.path = v,
                        2 => m.interface = v,
                        3 => m.member = v,
                        4 => m.error_name = v,
                        7 => m.sender = v,
                        _ => {}
                    }
                }
                _ => return Err(Reader::bad()),
            }
        }
        Ok(m)
    }

    /// Asks the bus for a well-known name (for a test's notification server).
    pub fn request_name(&mut self, name: &str) -> io::Result<bool> {
        let mut b = Body::default();
        b.str(name).u32(4);
        let r = self.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "RequestName",
            "su",
            &b,
        )?;
        Ok(Reader::new(&r.body).u32()? == 1)
    }

    /// Sends a freedesktop notification (urgency critical); returns its id.
    pub fn notify(&mut self, app: &str, summary: &str, text: &str) -> io::Result<u32> {
        let mut b = Body::default();
        b.str(app)
            .u32(0)
            .str("dialog-warning")
            .str(summary)
            .str(text);
        b.array(4, |_| {}); // actions: none
        b.array(8, |b| {
            b.pad(8);
            b.str("urgency").sig("y").byte(2);
        });
        b.i32(-1);
        let r = self.call(
            "org.freedesktop.Notifications",
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications",
            "Notify",
            "susssasa{sv}i",
            &b,
        )?;
        Reader::new(&r.body).u32()
    }
}

fn too_much(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what}: gave up"))
}

/// Connects one `unix:` address; `Ok(None)` for other transports.
fn connect_one(addr: &str) -> io::Result<Option<UnixStream>> {
    let Some(params) = addr.strip_prefix("unix:") else {
        return Ok(None);
    };
    for kv in params.split(',') {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        let v = unescape(v);
        match k {
            "path" => return UnixStream::connect(std::ffi::OsStr::new(&v)).map(Some),
            #[cfg(target_os = "linux")]
            "abstract" => {
                use std::os::linux::net::SocketAddrExt;
                let a = std::os::unix::net::SocketAddr::from_abstract_name(v.as_bytes())?;
                return UnixStream::connect_addr(&a).map(Some);
            }
            _ => {}
        }
    }
    Ok(None)
}

/// Undoes the `%XX` escaping of D-Bus address values.
fn unescape(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(x) = v
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marshals_with_alignment() {
        let mut b = Body::default();
        b.byte(1).u32(2).str("ab").sig("y");
        assert_eq!(
            b.buf,
            [1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 0, 1, b'y', 0]
        );
        let mut r = Reader::new(&b.buf);
        assert_eq!((r.u8().unwrap(), r.u32().unwrap()), (1, 2));
        assert_eq!(r.str().unwrap(), "ab");
        assert_eq!(r.sig().unwrap(), "y");
        // An empty dict array: length, then padding to 8 not counted.
        let mut d = Body::default();
        d.array(8, |_| {});
        assert_eq!(d.buf, [0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn address_values_are_unescaped() {
        assert_eq!(unescape("/tmp/a%2cb"), "/tmp/a,b");
        assert_eq!(unescape("plain%"), "plain%");
    }
}
