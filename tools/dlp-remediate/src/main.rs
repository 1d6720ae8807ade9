fn main() -> std::process::ExitCode {
    dlp_remediate::main()
}
