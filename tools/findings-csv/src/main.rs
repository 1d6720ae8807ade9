fn main() -> std::process::ExitCode {
    findings_csv::main()
}
