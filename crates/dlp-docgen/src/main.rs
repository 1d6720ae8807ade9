//! `dlp-docgen SHARE_DIR`: writes every tool's man pages and shell
//! completions under SHARE_DIR (see the library's documentation for the
//! layout); `dlp-docgen --list` prints the tools' names.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "--list" => {
            let text: String = dlp_docgen::names()
                .iter()
                .map(|n| format!("{n}\n"))
                .collect();
            print(&text)
        }
        [flag] if flag == "-h" || flag == "--help" => print(USAGE),
        [dir] if !dir.starts_with('-') => match dlp_docgen::write_tree(&PathBuf::from(dir)) {
            Ok(files) => {
                eprintln!("dlp-docgen: wrote {} files under {dir}", files.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("dlp-docgen: {e}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("dlp-docgen: usage: dlp-docgen SHARE_DIR | --list");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "\
usage: dlp-docgen SHARE_DIR | --list

Writes man/man1/TOOL.1, bash-completion/completions/TOOL,
zsh/site-functions/_TOOL and fish/vendor_completions.d/TOOL.fish for
every tool under SHARE_DIR; --list prints the tools' names.
";

fn print(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dlp-docgen: {e}");
            ExitCode::from(2)
        }
    }
}
