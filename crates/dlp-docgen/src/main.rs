//! `dlp-docgen SHARE_DIR`: writes every tool's man pages and shell
//! completions under SHARE_DIR (see the library's documentation for the
//! layout); `dlp-docgen --list` prints the tools' names; `dlp-docgen
//! --script NAME SHARE_DIR < HELP` does the same for a pipeline command.

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
        [flag, name, dir] if flag == "--script" => {
            let mut help = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut help) {
                eprintln!("dlp-docgen: reading the help of {name}: {e}");
                return ExitCode::from(2);
            }
            if !help.contains("Usage:") {
                eprintln!("dlp-docgen: the help of {name} on stdin has no Usage: line");
                return ExitCode::from(2);
            }
            written(
                dlp_docgen::write_script(&PathBuf::from(dir), name, &help),
                dir,
            )
        }
        [dir] if !dir.starts_with('-') => written(dlp_docgen::write_tree(&PathBuf::from(dir)), dir),
        _ => {
            eprintln!(
                "dlp-docgen: usage: dlp-docgen SHARE_DIR | --list | --script NAME SHARE_DIR < HELP"
            );
            ExitCode::from(2)
        }
    }
}

fn written(r: std::io::Result<Vec<PathBuf>>, dir: &str) -> ExitCode {
    match r {
        Ok(files) => {
            eprintln!("dlp-docgen: wrote {} files under {dir}", files.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dlp-docgen: {e}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "\
usage: dlp-docgen SHARE_DIR | --list | --script NAME SHARE_DIR < HELP

Writes man/man1/TOOL.1, bash-completion/completions/TOOL,
zsh/site-functions/_TOOL and fish/vendor_completions.d/TOOL.fish for
every tool under SHARE_DIR; --list prints the tools' names; --script
writes the same for a pipeline command from its --help text on stdin.
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
