fn main() -> std::process::ExitCode {
    webhook_post::main()
}
