//! Private-key blocks: a body that decodes to a key is VERY_LIKELY however
//! it is written into text (plain, JSON-escaped, split over string
//! literals, in comments, wrapped in base64); a key cut short LIKELY; a
//! body of base64 that is no key POSSIBLE; an elided one UNLIKELY. The
//! keys are in `tests/data/keys` (its README says how they were made).

use detect::{shorthand_rules, Engine};
use dlp_record::Confidence::{self, *};

const KEYS: [(&str, &str); 7] = [
    ("pkcs8-rsa", include_str!("../data/keys/pkcs8-rsa.pem")),
    ("pkcs1-rsa", include_str!("../data/keys/pkcs1-rsa.pem")),
    ("sec1-ec", include_str!("../data/keys/sec1-ec.pem")),
    (
        "pkcs8-encrypted",
        include_str!("../data/keys/pkcs8-encrypted.pem"),
    ),
    (
        "pkcs1-encrypted",
        include_str!("../data/keys/pkcs1-encrypted.pem"),
    ),
    (
        "openssh-ed25519",
        include_str!("../data/keys/openssh-ed25519.key"),
    ),
    ("pgp-secret", include_str!("../data/keys/pgp-secret.pem")),
];

fn key(name: &str) -> &'static str {
    KEYS.iter().find(|(n, _)| *n == name).unwrap().1
}

/// The CRYPTOGRAPHIC_KEY findings in `text` at any level.
fn keys(text: &str) -> Vec<(String, Confidence)> {
    let e = Engine::new(&shorthand_rules(&["ALL".into()], VeryUnlikely).unwrap()).unwrap();
    e.scan(text.as_bytes())
        .into_iter()
        .filter(|m| m.detector == "CRYPTOGRAPHIC_KEY")
        .map(|m| (m.finding, m.confidence))
        .collect()
}

/// The level of the one key block in `text`.
fn level(text: &str) -> Confidence {
    let f = keys(text);
    assert_eq!(f.len(), 1, "{text}: {f:?}");
    f[0].1
}

/// `pem` with its body replaced by `body` (lines of base64).
fn with_body(pem: &str, body: &[&str]) -> String {
    let lines: Vec<&str> = pem.lines().collect();
    let (head, tail) = (lines[0], lines[lines.len() - 1]);
    format!("{head}\n{}\n{tail}\n", body.join("\n"))
}

/// The base64 lines of `pem` (its armour headers and checksum left out).
fn body_lines(pem: &str) -> Vec<&str> {
    let lines: Vec<&str> = pem.lines().collect();
    lines[1..lines.len() - 1]
        .iter()
        .copied()
        .filter(|l| !l.is_empty() && !l.contains(':') && !l.starts_with('='))
        .collect()
}

#[test]
fn keys_of_every_structure_are_very_likely() {
    for (name, pem) in KEYS {
        let f = keys(&format!("key file:\n{pem}\n"));
        assert_eq!(f, vec![(pem.trim_end().to_string(), VeryLikely)], "{name}");
    }
}

#[test]
fn keys_written_into_source_are_very_likely() {
    for (name, pem) in KEYS {
        let escaped = pem.replace('\n', "\\n");
        let split = pem
            .lines()
            .map(|l| format!("    \"{l}\\n\""))
            .collect::<Vec<_>>()
            .join(" +\n");
        let python = pem
            .lines()
            .map(|l| format!("    '{l}\\n'"))
            .collect::<Vec<_>>()
            .join("\n");
        let one_line = pem
            .lines()
            .map(|l| format!("\"{l}\\n\""))
            .collect::<Vec<_>>()
            .join(" + ");
        let commented = |mark: &str| {
            pem.lines()
                .map(|l| format!("    {mark} {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let b64 = dlp_record::b64::encode(pem.as_bytes());
        for text in [
            format!("{{\"private_key\": \"{escaped}\"}}\n"),
            format!("key = \"{}\"\n", pem.replace('\n', "\\r\\n")),
            format!(
                "KEY=\"{}\"\n",
                escaped.replace('\\', "\\\\").replace('/', "\\/")
            ),
            format!("String key =\n{split};\n"),
            format!("KEY = (\n{python}\n)\n"),
            format!("const key = {one_line};\n"),
            format!("fn f() {{\n{}\n}}\n", commented("//")),
            format!("{}\nfn f() {{}}\n", commented("///")),
            format!("{}\nkey = 1\n", commented("#")),
            format!("tls.key: {b64}\n"),
        ] {
            assert_eq!(level(&text), VeryLikely, "{name}: {text}");
        }
    }
}

/// A GCP service-account key file: the PEM block in a JSON string, its
/// newlines escaped; once more escaped in a variable holding the file.
#[test]
fn gcp_service_account_key_file_is_a_very_likely_key() {
    let pem = key("pkcs8-rsa").trim_end().replace('\n', "\\n");
    let text = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"acme-prod-371412\",\n  \"private_key_id\": \"7c9e2b1f4a6d8e0c3b5a7f9d1e2c4b6a8d0f1e3c\",\n  \"private_key\": \"{pem}\\n\",\n  \"client_email\": \"deploy@acme-prod-371412.iam.gserviceaccount.com\"\n}}\n"
    );
    assert_eq!(keys(&text), vec![(pem.clone(), VeryLikely)], "{text}");
    let twice = format!(
        "GOOGLE_CREDENTIALS=\"{}\"\n",
        text.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    );
    assert_eq!(level(&twice), VeryLikely, "{twice}");
}

/// A real key with lines missing is still a leak.
#[test]
fn keys_cut_short_are_likely() {
    for name in ["pkcs8-rsa", "pkcs1-rsa", "pkcs8-encrypted"] {
        let pem = key(name);
        let body = body_lines(pem);
        let short = with_body(pem, &body[..body.len() - 2]);
        assert_eq!(level(&short), Likely, "{name}: {short}");
        let mut gap = body.clone();
        gap.remove(1);
        assert_eq!(level(&with_body(pem, &gap)), Likely, "{name}");
    }
}

/// A plain key under `Proc-Type: 4,ENCRYPTED` (a test of a PEM parser)
/// is still a key.
#[test]
fn a_plain_key_under_an_encryption_header_is_very_likely() {
    let pem = key("pkcs1-rsa").replacen(
        "KEY-----\n",
        "KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,975C518B7D2CCD1164A3354D1F89C5A6\n\n",
        1,
    );
    assert_eq!(level(&pem), VeryLikely, "{pem}");
}

/// Base64 that decodes to no key structure is a sample: POSSIBLE, under
/// every header, whatever its length.
#[test]
fn bodies_that_are_not_keys_are_possible() {
    let random = [
        "grcO7n8aUDm+8H7CNH8GbtCPXcdRJEfjQEMAAmtuVFWUoGVoXWTEmAu41FRKhyGp",
        "mgGtIZ61nPahXvbxWh2DC7fOCda7wATnF1xkPH3ssLWA7De8lxLdLmquuUuujS+f",
        "opxaKEye91IYKc8QebCA6ddKHBD8q2pCQ9M2Vt6+TB7XlkjoVuj5ovWMlfDOSznB",
    ];
    for (name, pem) in KEYS {
        if name.ends_with("encrypted") {
            continue;
        }
        let text = with_body(pem, &random);
        assert_eq!(level(&text), Possible, "{name}: {text}");
    }
    // An OpenSSH body of another magic, a PGP public-key packet.
    let ssh = key("openssh-ed25519");
    let v2: Vec<String> = body_lines(ssh)
        .iter()
        .map(|l| l.replacen("b3BlbnNzaC1rZXktdjEA", "b3BlbnNzaC1rZXktdjIA", 1))
        .collect();
    let v2: Vec<&str> = v2.iter().map(String::as_str).collect();
    assert_eq!(level(&with_body(ssh, &v2)), Possible);
    let pgp = key("pgp-secret");
    let public: Vec<String> = body_lines(pgp)
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("mDM{}", &l[3..])
            } else {
                l.to_string()
            }
        })
        .collect();
    let public: Vec<&str> = public.iter().map(String::as_str).collect();
    assert_eq!(level(&with_body(pgp, &public)), Possible);
    // Encrypted under Proc-Type, but not whole cipher blocks.
    let enc = key("pkcs1-encrypted").replace("U=\n", "UAB=\n");
    assert_eq!(level(&enc), Possible, "{enc}");
}

/// Elided bodies: a line of `:` or `...` in place of the rest.
#[test]
fn elided_bodies_are_unlikely() {
    let pem = key("pkcs1-rsa");
    let first = body_lines(pem)[0];
    for elision in [" :", "...", "[…]"] {
        let text = with_body(pem, &[first, elision]);
        assert_eq!(level(&text), Unlikely, "{text}");
    }
}
