//! What the first bytes of a stream say it is: a container, a document
//! read by an adapter, text (in UTF-8 or another encoding) or binary.

use crate::decode::{self, Encoding};

/// Bytes looked at to tell kinds apart.
pub const SNIFF: usize = 8 * 1024;

/// What a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Gzip,
    Zip,
    Tar,
    Pdf,
    Image,
    /// One mail message (RFC 5322 headers, then a body).
    Mail,
    /// A Unix mailbox: messages each after a `From ` line.
    Mbox,
    /// An OLE compound file (an Outlook message, or legacy Office).
    Ole,
    Rtf,
    Html,
    Text,
    /// Text in another encoding, after a byte-order mark of this length.
    Encoded(Encoding, usize),
    Binary,
}

impl Sniffed {
    /// Kinds that hold members (and so count as a nesting level).
    pub fn is_container(self) -> bool {
        matches!(
            self,
            Sniffed::Gzip
                | Sniffed::Zip
                | Sniffed::Tar
                | Sniffed::Mail
                | Sniffed::Mbox
                | Sniffed::Ole
        )
    }
}

/// What `head` (the first [`SNIFF`] bytes, or all of a shorter stream)
/// is.
pub fn sniff(head: &[u8]) -> Sniffed {
    if head.starts_with(&[0x1f, 0x8b]) {
        Sniffed::Gzip
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Sniffed::Zip
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Sniffed::Tar
    } else if memchr::memmem::find(&head[..head.len().min(1024)], b"%PDF-").is_some() {
        Sniffed::Pdf
    } else if head.starts_with(crate::msg::MAGIC) {
        Sniffed::Ole
    } else if crate::image::is_image(head) {
        Sniffed::Image
    } else if head.starts_with(b"{\\rtf") {
        Sniffed::Rtf
    } else if let Some((enc, bom)) = decode::detect(head, head.len() == SNIFF) {
        Sniffed::Encoded(enc, bom)
    } else if head.contains(&0) {
        Sniffed::Binary
    } else if crate::mbox::is_mbox(head) {
        Sniffed::Mbox
    } else if crate::mail::is_message(head) {
        Sniffed::Mail
    } else if crate::html::is_html(head) {
        Sniffed::Html
    } else {
        Sniffed::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(sniff(b"%PDF-1.4\n"), Sniffed::Pdf);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Sniffed::Image);
        assert_eq!(sniff(b"{\\rtf1\\ansi x}"), Sniffed::Rtf);
        assert_eq!(sniff(b"  <!DOCTYPE html><p>x"), Sniffed::Html);
        assert_eq!(
            sniff(b"From ana@example.org Mon Jan  1 00:00:00 2024\nFrom: a@b\n\nhi\n"),
            Sniffed::Mbox
        );
        assert_eq!(
            sniff(b"From: Ana <a@b.org>\nTo: b@c.org\nSubject: hi\n\nbody\n"),
            Sniffed::Mail
        );
        assert_eq!(sniff(b"From: here to there\nnothing else\n"), Sniffed::Text);
        assert_eq!(sniff(b"id,name\n1,x\n"), Sniffed::Text);
        assert_eq!(
            sniff(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"),
            Sniffed::Binary
        );
    }
}
