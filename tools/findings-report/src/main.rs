fn main() -> std::process::ExitCode {
    findings_report::main()
}
