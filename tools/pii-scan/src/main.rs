fn main() -> std::process::ExitCode {
    pii_scan::main()
}
