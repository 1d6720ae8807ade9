fn main() -> std::process::ExitCode {
    nf_webhook::main()
}
